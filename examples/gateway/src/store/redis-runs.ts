/**
 * Leases of running requests on Redis: `{p}run:{id}` holds the request (a {@link RunSpec}),
 * `{p}lease:{id}` the node running it (expiring unless renewed), and `{p}running` every running
 * request by lease expiry, which is how a node finds the requests of a node that died.
 */
import type { Result } from 'ioredis';
import type { CallbackBody } from '@modelriver/node';
import type { CoordinatorHost, RunCoordinator, RunSpec } from '../runner/coordinator.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { RedisBus } from './redis-bus.js';
import type { RedisClient } from './redis.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    mrRenew(...args: string[]): Result<string[], Context>;
    mrClaim(prefix: string, id: string, node: string, leaseMs: string, expiry: string): Result<string | null, Context>;
    mrEnd(prefix: string, id: string, node: string): Result<number, Context>;
  }
}

/* ARGV: prefix, node, lease ms, expiry, ids…; returns the ids whose lease is no longer this node's. */
const RENEW_SCRIPT = `
local p, node, lease, expiry = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local lost = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  if redis.call('GET', p .. 'lease:' .. id) == node then
    redis.call('PEXPIRE', p .. 'lease:' .. id, lease)
    redis.call('ZADD', p .. 'running', expiry, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
`;

/*
 * Takes a request over when its lease has lapsed: the lease, its place in `running`, and the
 * channel's owner (which fences the old node's writes) change in one step. Returns the spec.
 */
const CLAIM_SCRIPT = `
local p, id, node, lease, expiry = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if redis.call('EXISTS', p .. 'lease:' .. id) == 1 then return false end
local spec = redis.call('GET', p .. 'run:' .. id)
if not spec then
  redis.call('ZREM', p .. 'running', id)
  return false
end
redis.call('SET', p .. 'lease:' .. id, node, 'PX', lease)
redis.call('ZADD', p .. 'running', expiry, id)
if redis.call('EXISTS', p .. 'ch:' .. id) == 1 then redis.call('HSET', p .. 'ch:' .. id, 'owner', node) end
return spec
`;

/* Forgets a request that ended, unless another node took it over meanwhile (then it is theirs). */
const END_SCRIPT = `
local p, id, node = ARGV[1], ARGV[2], ARGV[3]
if redis.call('GET', p .. 'lease:' .. id) ~= node then return 0 end
redis.call('DEL', p .. 'run:' .. id, p .. 'lease:' .. id)
redis.call('ZREM', p .. 'running', id)
return 1
`;

/** Options of {@link createRedisRunCoordinator}. */
export interface RedisRunCoordinatorOptions {
  redis: RedisClient;
  bus: RedisBus;
  prefix: string;
  /** A node that has not renewed a lease for this long is taken to be dead. Default 5 s. */
  leaseMs?: number;
  /** How long a routed callback waits for the owner's answer. Default 5 s. */
  routeTimeoutMs?: number;
  now?: () => number;
  timers?: Timers;
}

/**
 * Creates the Redis {@link RunCoordinator}: renews this node's leases every `leaseMs / 3`, and
 * every `leaseMs / 2` looks for lapsed ones to take over.
 *
 * @example
 * ```ts
 * const coordinator = createRedisRunCoordinator({ redis, bus, prefix: 'mr:' });
 * const runner = new Runner({ ...deps, coordinator });
 * ```
 */
export function createRedisRunCoordinator(options: RedisRunCoordinatorOptions): RunCoordinator {
  return new RedisRunCoordinator(options);
}

class RedisRunCoordinator implements RunCoordinator {
  private host: CoordinatorHost | null = null;
  private readonly local = new Set<string>();
  private readonly leaseMs: number;
  private readonly timers: Timers;
  private readonly now: () => number;
  private renewTimer: TimerHandle | null = null;
  private scanTimer: TimerHandle | null = null;
  private closed = false;
  private scanning = false;

  constructor(private readonly options: RedisRunCoordinatorOptions) {
    this.leaseMs = options.leaseMs ?? 5_000;
    this.timers = options.timers ?? systemTimers;
    this.now = options.now ?? Date.now;
    options.redis.defineCommand('mrRenew', { numberOfKeys: 0, lua: RENEW_SCRIPT });
    options.redis.defineCommand('mrClaim', { numberOfKeys: 0, lua: CLAIM_SCRIPT });
    options.redis.defineCommand('mrEnd', { numberOfKeys: 0, lua: END_SCRIPT });
  }

  private get nodeId(): string {
    return this.options.bus.nodeId;
  }

  private key(kind: string, id: string): string {
    return `${this.options.prefix}${kind}:${id}`;
  }

  bind(host: CoordinatorHost): void {
    this.host = host;
    this.options.bus.handle('callback', (payload) => {
      const { channelId, body } = payload as { channelId: string; body: CallbackBody };
      host.callback(channelId, body);
      return null;
    });
    this.scheduleRenew();
    this.scheduleScan(0);
  }

  async started(spec: RunSpec): Promise<void> {
    this.local.add(spec.channelId);
    await this.options.redis
      .multi()
      .set(this.key('run', spec.channelId), JSON.stringify(spec))
      .set(this.key('lease', spec.channelId), this.nodeId, 'PX', this.leaseMs)
      .zadd(`${this.options.prefix}running`, this.now() + this.leaseMs, spec.channelId)
      .exec();
  }

  updated(spec: RunSpec): void {
    this.options.redis
      .set(this.key('run', spec.channelId), JSON.stringify(spec))
      .catch((error: unknown) => this.host?.reportError(error));
  }

  ended(channelId: string): void {
    // Not this node's any more (lost, or released by close): the lease may be another node's now.
    if (!this.local.delete(channelId)) return;
    this.options.redis
      .mrEnd(this.options.prefix, channelId, this.nodeId)
      .catch((error: unknown) => this.host?.reportError(error));
  }

  async routeCallback(channelId: string, body: CallbackBody): Promise<boolean> {
    const owner = await this.options.redis.get(this.key('lease', channelId));
    if (owner === null) return false;
    await this.options.bus.request(owner, 'callback', { channelId, body }, this.options.routeTimeoutMs ?? 5_000);
    return true;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.renewTimer !== null) this.timers.clearTimeout(this.renewTimer);
    if (this.scanTimer !== null) this.timers.clearTimeout(this.scanTimer);
    if (this.local.size === 0) return;
    // Released, not left to lapse: another node (or this one, restarted) continues them at once.
    const ids = [...this.local];
    this.local.clear();
    const multi = this.options.redis.multi();
    for (const id of ids) multi.del(this.key('lease', id)).zadd(`${this.options.prefix}running`, 0, id);
    await multi.exec().catch((error: unknown) => this.host?.reportError(error));
  }

  private scheduleRenew(): void {
    if (this.closed) return;
    this.renewTimer = this.timers.setTimeout(() => {
      void this.renew().finally(() => this.scheduleRenew());
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
  }

  private async renew(): Promise<void> {
    if (this.local.size === 0) return;
    try {
      const lost = await this.options.redis.mrRenew(
        this.options.prefix,
        this.nodeId,
        String(this.leaseMs),
        String(this.now() + this.leaseMs),
        ...this.local,
      );
      for (const id of lost) {
        if (!this.local.delete(id)) continue;
        this.host?.lost(id);
      }
    } catch (error) {
      // Redis is away: the leases may lapse meanwhile, and the renewal after it says which.
      this.host?.reportError(error);
    }
  }

  private scheduleScan(delayMs: number): void {
    if (this.closed) return;
    this.scanTimer = this.timers.setTimeout(() => {
      void this.scan().finally(() => this.scheduleScan(Math.max(1, Math.floor(this.leaseMs / 2))));
    }, delayMs);
  }

  /** Takes over what lapsed: a few at a time, so that the nodes alive share the work. */
  private async scan(): Promise<void> {
    if (this.scanning || this.host === null) return;
    this.scanning = true;
    try {
      const due = await this.options.redis.zrangebyscore(`${this.options.prefix}running`, '-inf', this.now(), 'LIMIT', 0, 8);
      for (const id of due) {
        if (this.closed) return;
        const spec = await this.options.redis.mrClaim(this.options.prefix, id, this.nodeId, String(this.leaseMs), String(this.now() + this.leaseMs));
        if (spec === null) continue;
        this.local.add(id);
        try {
          await this.host.takeOver(JSON.parse(spec) as RunSpec);
        } catch (error) {
          this.host.reportError(error);
        }
      }
    } catch (error) {
      this.host.reportError(error);
    } finally {
      this.scanning = false;
    }
  }
}
