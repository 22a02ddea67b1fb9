/**
 * Webhooks for a CLI (`webhook_url: "cli"`) when the CLI is connected to another gateway node
 * than the one making the attempt: nodes with listeners announce them in `{p}cli:{project}` (a
 * sorted set of node ids by expiry, refreshed while they last), and an attempt goes over the bus
 * to one of them. The signed bytes and headers travel unchanged.
 */
import type { ListenerRegistry } from '../channels/listeners.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { CliTransportInput, CliTransportOutcome } from '../webhooks/types.js';
import type { RedisBus } from './redis-bus.js';
import type { RedisClient } from './redis.js';

/** How long an announcement lasts unless refreshed (a node that dies drops out after it). */
const PRESENCE_TTL_MS = 15_000;

/** Options of {@link createCliRouting}. */
export interface CliRoutingOptions {
  redis: RedisClient;
  bus: RedisBus;
  prefix: string;
  now?: () => number;
  timers?: Timers;
  onError?: (error: unknown) => void;
}

/** What {@link createCliRouting} returns. */
export interface CliRouting {
  /** Hands the registry over once it exists (it is created with {@link presence} as its hook). */
  attach(listeners: ListenerRegistry): void;
  /** The registry's `onPresence` hook: announces or withdraws this node for a project. */
  presence(projectId: string, present: boolean): void;
  /** The dispatcher's `cliTransport`: this node's listener, or another node's over the bus. */
  transport(input: CliTransportInput): Promise<CliTransportOutcome>;
  close(): Promise<void>;
}

/**
 * Creates the cross-node CLI routing.
 *
 * @example
 * ```ts
 * const routing = createCliRouting({ redis, bus, prefix: 'mr:' });
 * const listeners = new ListenerRegistry({ authenticate, onPresence: routing.presence });
 * routing.attach(listeners);
 * createWebhookDispatcher({ secret, cliTransport: routing.transport });
 * ```
 */
export function createCliRouting(options: CliRoutingOptions): CliRouting {
  const { redis, bus, prefix } = options;
  const now = options.now ?? Date.now;
  const timers = options.timers ?? systemTimers;
  const report = (error: unknown): void => options.onError?.(error);
  let listeners: ListenerRegistry | null = null;
  let timer: TimerHandle | null = null;
  let closed = false;

  const announce = (projectId: string): Promise<unknown> => redis.zadd(`${prefix}cli:${projectId}`, now() + PRESENCE_TTL_MS, bus.nodeId);
  const refresh = (): void => {
    if (closed) return;
    for (const projectId of listeners?.projects() ?? []) announce(projectId).catch(report);
    timer = timers.setTimeout(refresh, PRESENCE_TTL_MS / 3);
  };

  bus.handle('cli_deliver', (payload) => {
    const input = payload as CliTransportInput;
    if (listeners === null) return { ok: false, error: 'no cli listener connected' };
    return listeners.deliver(input);
  });

  return {
    attach(registry) {
      listeners = registry;
      refresh();
    },
    presence(projectId, present) {
      const key = `${prefix}cli:${projectId}`;
      (present ? announce(projectId) : redis.zrem(key, bus.nodeId)).catch(report);
    },
    async transport(input) {
      if (listeners !== null && listeners.count(input.projectId) > 0) return listeners.deliver(input);
      const nodes = await redis.zrangebyscore(`${prefix}cli:${input.projectId}`, now(), '+inf');
      const target = nodes.filter((node) => node !== bus.nodeId).at(-1);
      if (target === undefined) return { ok: false, error: 'no cli listener connected' };
      const { signal: _local, ...portable } = input;
      try {
        // A little longer than the listener's own timeout, so its verdict arrives first.
        return (await bus.request(target, 'cli_deliver', portable, input.timeoutMs + 1_000)) as CliTransportOutcome;
      } catch (error) {
        return { ok: false, error: `cli listener on another node: ${error instanceof Error ? error.message : String(error)}` };
      }
    },
    async close() {
      closed = true;
      if (timer !== null) timers.clearTimeout(timer);
      const projects = listeners?.projects() ?? [];
      await Promise.all(projects.map((projectId) => redis.zrem(`${prefix}cli:${projectId}`, bus.nodeId))).catch(report);
    },
  };
}
