/**
 * The channel backplane on Redis: each channel is a hash (`{p}ch:{id}`: topic, owner node,
 * finished) and a list of its events (`{p}log:{id}`, index = seq - 1); connect tokens are keys
 * (`{p}tok:{token}`) consumed with one `GETDEL`. The node that runs a channel writes its events in
 * batches (one script call for whatever every channel of the node appended meanwhile), and the
 * same call publishes them once to every node (`{p}events`), which feed them to their sockets.
 */
import { randomBytes as systemRandomBytes } from 'node:crypto';
import type { Result } from 'ioredis';
import type { BackplaneHost, ChannelBackplane, LoadedChannel } from '../channels/backplane.js';
import { ChannelHubError } from '../channels/errors.js';
import type { Slot } from '../channels/log.js';
import type { ConnectTokens, RandomBytes } from '../channels/tokens.js';
import { systemTimers, type Timers } from '../timers.js';
import type { RedisBus } from './redis-bus.js';
import type { RedisClient } from './redis.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    mrWrite(...args: string[]): Result<string[], Context>;
    mrIssueToken(tokenKey: string, indexKey: string, topic: string, ttlMs: string, now: string, max: string, prefix: string): Result<number, Context>;
  }
}

/*
 * ARGV: prefix, node id, live TTL, retention, the batch as followers get it (JSON), then ops:
 * `o id topic` (opened), `a id firstSeq count slot…` (appended), `f id` (finished). Two calls per
 * channel and batch on the hot path (the owner check and RPUSH; TTLs are set when a channel opens,
 * finishes, or its log crosses a multiple of 256 events), whatever the number of tokens: the
 * gateway sends one call per batch, Redis does little more per channel. An append is kept only
 * if the log had exactly what came before it: a batch retried after a lost reply finds itself
 * already written and is trimmed off again. Another owner (a takeover) fences the channel: its
 * id is returned, and then nothing is published; the caller publishes the rest itself.
 */
const WRITE_SCRIPT = `
local p, node = ARGV[1], ARGV[2]
local live, keep = tonumber(ARGV[3]), tonumber(ARGV[4])
local i, n = 6, #ARGV
local fenced = {}
while i <= n do
  local op, id = ARGV[i], ARGV[i + 1]
  local ch, log = p .. 'ch:' .. id, p .. 'log:' .. id
  if op == 'o' then
    if redis.call('EXISTS', ch) == 0 then
      redis.call('HSET', ch, 'topic', ARGV[i + 2], 'owner', node, 'fin', '0')
      redis.call('PEXPIRE', ch, live)
    end
    i = i + 3
  elseif op == 'a' then
    local first, count = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3])
    local expected = first - 1 + count
    if redis.call('HGET', ch, 'owner') ~= node then
      fenced[#fenced + 1] = id
    else
      local len = redis.call('RPUSH', log, unpack(ARGV, i + 4, i + 3 + count))
      if len ~= expected then
        redis.call('LTRIM', log, 0, len - count - 1)
        if len - count ~= expected then fenced[#fenced + 1] = id end
      elseif first == 1 or math.floor((first - 1) / 256) ~= math.floor(expected / 256) then
        redis.call('PEXPIRE', log, live)
        redis.call('PEXPIRE', ch, live)
      end
    end
    i = i + 4 + count
  else
    if redis.call('HGET', ch, 'owner') == node then
      redis.call('HSET', ch, 'fin', '1')
      redis.call('PEXPIRE', ch, keep)
      redis.call('PEXPIRE', log, keep)
    else
      fenced[#fenced + 1] = id
    end
    i = i + 2
  end
end
if #fenced == 0 and ARGV[5] ~= '[]' then redis.call('PUBLISH', p .. 'events', ARGV[5]) end
return fenced
`;

/* KEYS: token key, topic index. ARGV: topic, ttl, now (unused), max live per topic, prefix. */
const ISSUE_TOKEN_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- Issue order, not time: tokens issued within one millisecond must still leave oldest first.
local order = redis.call('INCR', KEYS[2] .. ':n')
redis.call('PEXPIRE', KEYS[2] .. ':n', ARGV[2])
redis.call('ZADD', KEYS[2], order, KEYS[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over > 0 then
  for _, key in ipairs(redis.call('ZPOPMIN', KEYS[2], over)) do
    if string.sub(key, 1, string.len(ARGV[5])) == ARGV[5] then redis.call('DEL', key) end
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1
`;

/** At most this many script arguments per call (Lua's stack is not unlimited). */
const MAX_ARGS_PER_WRITE = 4_000;
const TOKEN_BYTES = 24;

/** Options of {@link createRedisBackplane}. */
export interface RedisBackplaneOptions {
  redis: RedisClient;
  bus: RedisBus;
  prefix: string;
  /** A finished channel is kept this long (then Redis drops it). */
  retentionMs: number;
  /**
   * A channel not finished this long after it opened is dropped (its node and every other died);
   * a long stream pushes it back every 256 events. Default 1 h.
   */
  liveTtlMs?: number;
  /** Live connect and resume tokens per channel; issuing one more revokes the oldest. Default 64. */
  maxTokensPerChannel?: number;
  now?: () => number;
  timers?: Timers;
  randomBytes?: RandomBytes;
}

type Op =
  | { kind: 'o'; id: string; topic: string }
  | { kind: 'a'; id: string; seq: number; slot: Slot }
  | { kind: 'f'; id: string; lastSeq: number };

/** What followers get for one channel in a batch: `[id, firstSeq, slots, finished ? 1 : 0]`. */
type Published = [string, number, string[], 0 | 1];

/**
 * Creates the Redis {@link ChannelBackplane}. Slots are stored as strings: a `tokens` delta as
 * `.` + delta, any other event as `name\n` + its JSON.
 *
 * @example
 * ```ts
 * const bus = await RedisBus.start({ redis, subscriber, prefix: 'mr:', nodeId });
 * const backplane = await createRedisBackplane({ redis, bus, prefix: 'mr:', retentionMs: 600_000 });
 * const hub = createChannelHub({ projectId, backplane });
 * ```
 */
export async function createRedisBackplane(options: RedisBackplaneOptions): Promise<ChannelBackplane> {
  const backplane = new RedisBackplane(options);
  await backplane.start();
  return backplane;
}

class RedisBackplane implements ChannelBackplane {
  readonly tokens: ConnectTokens;
  private host: BackplaneHost | null = null;
  private queue: Op[] = [];
  private writing: Promise<void> | null = null;
  private scheduled = false;
  private retryDelayMs = 0;
  /** The error of the last write, while writes fail (null once one succeeds). */
  private lastError: unknown = null;
  private closed = false;
  /** Ops ever queued / ever written, and who waits for a count to be written. */
  private enqueuedCount = 0;
  private writtenCount = 0;
  private waiters: Array<{ count: number; resolve: () => void; reject: (error: unknown) => void }> = [];
  private readonly redis: RedisClient;
  private readonly prefix: string;
  private readonly timers: Timers;
  private readonly liveTtlMs: number;

  constructor(private readonly options: RedisBackplaneOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix;
    this.timers = options.timers ?? systemTimers;
    this.liveTtlMs = options.liveTtlMs ?? 60 * 60_000;
    this.redis.defineCommand('mrWrite', { numberOfKeys: 0, lua: WRITE_SCRIPT });
    this.redis.defineCommand('mrIssueToken', { numberOfKeys: 2, lua: ISSUE_TOKEN_SCRIPT });
    this.tokens = redisTokens(this.redis, this.prefix, options);
  }

  get nodeId(): string {
    return this.options.bus.nodeId;
  }

  async start(): Promise<void> {
    const { bus } = this.options;
    bus.handle('cancel', (payload) => {
      if (typeof payload === 'string') this.host?.cancel(payload);
      return null;
    });
    bus.onReconnect(() => this.host?.resync());
    await bus.listen('events', (message) => this.receive(message));
  }

  bind(host: BackplaneHost): void {
    this.host = host;
  }

  opened(channelId: string, topic: string): void {
    this.enqueue({ kind: 'o', id: channelId, topic });
  }

  appended(channelId: string, seq: number, slot: Slot): void {
    this.enqueue({ kind: 'a', id: channelId, seq, slot });
  }

  finished(channelId: string, lastSeq: number): void {
    this.enqueue({ kind: 'f', id: channelId, lastSeq });
  }

  async load(channelId: string, afterSeq = 0): Promise<LoadedChannel | undefined> {
    const results = await this.redis
      .multi()
      .hgetall(`${this.prefix}ch:${channelId}`)
      .lrange(`${this.prefix}log:${channelId}`, afterSeq, -1)
      .exec();
    const [infoResult, slotsResult] = results ?? [];
    if (infoResult?.[0]) throw infoResult[0];
    if (slotsResult?.[0]) throw slotsResult[0];
    const info = infoResult?.[1] as Record<string, string> | undefined;
    if (info?.['topic'] === undefined) return undefined;
    const slots = (slotsResult?.[1] as string[] | undefined) ?? [];
    return {
      topic: info['topic'],
      afterSeq,
      slots: slots.map(decodeSlot),
      finished: info['fin'] === '1',
      cancelRequested: info['cancel'] === '1',
    };
  }

  cancel(channelId: string): void {
    void (async () => {
      const key = `${this.prefix}ch:${channelId}`;
      // Recorded on the channel too, so a node that takes it over later still sees it.
      const [, [, owner]] = ((await this.redis.multi().hset(key, 'cancel', '1').hget(key, 'owner').exec()) ?? [[], []]) as [
        unknown,
        [unknown, string | null],
      ];
      if (owner === null) return;
      if (owner === this.nodeId) this.host?.cancel(channelId);
      else await this.options.bus.send(owner, 'cancel', channelId);
    })().catch((error: unknown) => this.host?.reportError(error));
  }

  /** Rejects at once while Redis refuses writes: whoever waits (an HTTP call) answers 503 instead of hanging. */
  written(): Promise<void> {
    if (this.writtenCount >= this.enqueuedCount) return Promise.resolve();
    if (this.lastError !== null) return Promise.reject(this.lastError);
    return new Promise((resolve, reject) => this.waiters.push({ count: this.enqueuedCount, resolve, reject }));
  }

  /**
   * Writes what is queued, then stops. If Redis refuses the writes, what is still queued is
   * dropped: the node is going away, and the leases of its requests lapse for another to continue.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.queue.length > 0 || this.writing !== null) {
      if (this.writing === null) this.flush();
      await this.writing;
      if (this.lastError !== null) break;
    }
    this.closed = true;
    this.queue = [];
  }

  // ---- writing ------------------------------------------------------------------------------

  // While Redis is away the queue holds what this node's requests go on producing, no more than
  // their channel logs hold anyway: only requests accepted before the outage produce (new ones
  // are refused with 503), and each of them ends.
  private enqueue(op: Op): void {
    if (this.closed) return;
    this.queue.push(op);
    this.enqueuedCount++;
    // While Redis refuses writes, the retry timer sends what gathers meanwhile.
    if (this.writing !== null || this.scheduled || this.lastError !== null) return;
    this.scheduled = true;
    // Everything appended in this turn of the event loop goes in one call.
    queueMicrotask(() => {
      this.scheduled = false;
      if (this.writing === null) this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    const { args, published, taken } = this.encode();
    const batch = this.queue.slice(0, taken);
    this.writing = this.redis
      .mrWrite(this.prefix, this.nodeId, String(this.liveTtlMs), String(this.options.retentionMs), JSON.stringify(published), ...args)
      .then(async (fenced) => {
        // Rare (a takeover): the script published nothing, so the rest goes out without them.
        if (fenced.length > 0) {
          const rest = published.filter(([id]) => !fenced.includes(id));
          if (rest.length > 0) await this.redis.publish(`${this.prefix}events`, JSON.stringify(rest));
        }
        return fenced;
      })
      .then(
        (fenced) => {
          this.queue = this.queue.slice(taken);
          this.retryDelayMs = 0;
          this.lastError = null;
          this.writtenCount += taken;
          this.acknowledge(batch, new Set(fenced));
          if (this.waiters.length > 0) {
            const ready = this.waiters.filter((w) => w.count <= this.writtenCount);
            this.waiters = this.waiters.filter((w) => w.count > this.writtenCount);
            for (const waiter of ready) waiter.resolve();
          }
        },
        (error: unknown) => {
          // Kept in order and sent again: the script skips what a lost reply had already written.
          this.host?.reportError(error);
          this.lastError = error;
          this.retryDelayMs = Math.min(Math.max(this.retryDelayMs * 2, 50), 1_000);
          const waiting = this.waiters;
          this.waiters = [];
          for (const waiter of waiting) waiter.reject(error);
        },
      )
      .finally(() => {
        this.writing = null;
        if (this.queue.length === 0) return;
        if (this.closed) return;
        if (this.retryDelayMs === 0) this.flush();
        else this.timers.setTimeout(() => this.writing === null && this.flush(), this.retryDelayMs);
      });
  }

  /**
   * The queue's head as script arguments (consecutive appends of a channel grouped into one op),
   * and as followers get it.
   */
  private encode(): { args: string[]; published: Published[]; taken: number } {
    const args: string[] = [];
    const published: Published[] = [];
    let taken = 0;
    const queue = this.queue;
    while (taken < queue.length && args.length < MAX_ARGS_PER_WRITE) {
      const op = queue[taken] as Op;
      if (op.kind === 'o') {
        args.push('o', op.id, op.topic);
        taken++;
      } else if (op.kind === 'f') {
        args.push('f', op.id);
        published.push([op.id, op.lastSeq + 1, [], 1]);
        taken++;
      } else {
        let end = taken + 1;
        for (;;) {
          const next = queue[end];
          if (next?.kind !== 'a' || next.id !== op.id || end - taken >= 1_000) break;
          end++;
        }
        args.push('a', op.id, String(op.seq), String(end - taken));
        const slots: string[] = [];
        for (let k = taken; k < end; k++) slots.push(encodeSlot((queue[k] as Extract<Op, { kind: 'a' }>).slot));
        args.push(...slots);
        published.push([op.id, op.seq, slots, 0]);
        taken = end;
      }
    }
    return { args, published, taken };
  }

  private acknowledge(batch: Op[], fenced: Set<string>): void {
    const host = this.host;
    if (host === null) return;
    const durable = new Map<string, number>();
    for (const op of batch) if (op.kind === 'a' && !fenced.has(op.id)) durable.set(op.id, op.seq);
    for (const [id, seq] of durable) host.durable(id, seq);
    for (const id of fenced) host.fenced(id);
  }

  // ---- following ----------------------------------------------------------------------------

  private receive(message: string): void {
    const host = this.host;
    if (host === null) return;
    let entries: unknown;
    try {
      entries = JSON.parse(message);
    } catch (error) {
      host.reportError(error);
      return;
    }
    if (!Array.isArray(entries)) return;
    for (const entry of entries as unknown[]) {
      if (!Array.isArray(entry)) continue;
      const [id, first, slots, fin] = entry as [unknown, unknown, unknown, unknown];
      if (typeof id !== 'string' || typeof first !== 'number') continue;
      const list = Array.isArray(slots) ? (slots as unknown[]).filter((s): s is string => typeof s === 'string') : [];
      host.remote(id, first, list.map(decodeSlot), fin === 1);
    }
  }
}

function encodeSlot(slot: Slot): string {
  return typeof slot === 'string' ? `.${slot}` : `${slot.event}\n${slot.json}`;
}

function decodeSlot(stored: string): Slot {
  if (stored.startsWith('.')) return stored.slice(1);
  const newline = stored.indexOf('\n');
  const event = stored.slice(0, newline);
  if (newline === -1 || (event !== 'status' && event !== 'tool_call' && event !== 'response')) {
    throw new ChannelHubError('invalid_payload', `the store holds an event this gateway cannot read: ${stored.slice(0, 40)}`);
  }
  return { event, json: stored.slice(newline + 1) };
}

/** Connect and resume tokens as Redis keys with a TTL; a per-topic index caps the live ones. */
function redisTokens(redis: RedisClient, prefix: string, options: RedisBackplaneOptions): ConnectTokens {
  const random = options.randomBytes ?? systemRandomBytes;
  const now = options.now ?? Date.now;
  const max = String(options.maxTokensPerChannel ?? 64);
  const key = (token: string): string => `${prefix}tok:${token}`;
  // A token is base64url; anything else is not worth a round trip.
  const wellFormed = (token: string): boolean => /^[A-Za-z0-9_-]{16,64}$/.test(token);
  return {
    async issue(topic, ttlMs) {
      const token = Buffer.from(random(TOKEN_BYTES)).toString('base64url');
      await redis.mrIssueToken(key(token), `${prefix}toks:${topic}`, topic, String(Math.max(1, Math.ceil(ttlMs))), String(now()), max, `${prefix}tok:`);
      return token;
    },
    async isValid(token) {
      return wellFormed(token) && (await redis.exists(key(token))) === 1;
    },
    async consume(token) {
      if (!wellFormed(token)) return undefined;
      return (await redis.getdel(key(token))) ?? undefined;
    },
    async revoke(token) {
      if (wellFormed(token)) await redis.del(key(token));
    },
    sweep() {},
    size: -1,
    clear() {},
  };
}
