/**
 * One gateway node's connection to Redis: the command connection every store shares, the bus
 * (its own subscribed connection) and the channel backplane.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelBackplane } from '../channels/backplane.js';
import type { RandomBytes } from '../channels/tokens.js';
import type { Timers } from '../timers.js';
import { RedisBus } from './redis-bus.js';
import { createRedisBackplane } from './redis-channels.js';
import { connectRedis, type RedisClient } from './redis.js';

/** Options of {@link connectRedisNode}. */
export interface RedisNodeOptions {
  url: string;
  /** Every key and pub/sub channel of the gateway starts with it. Default `mr:`. */
  prefix?: string;
  /** This node's id (unique among the nodes on one Redis). Default: a random UUID. */
  nodeId?: string;
  /** How long a finished channel's log is kept. */
  retentionMs: number;
  maxTokensPerChannel?: number;
  now?: () => number;
  timers?: Timers;
  randomBytes?: RandomBytes;
  onError?: (error: unknown) => void;
}

/** What {@link connectRedisNode} returns; `close()` writes what is queued and disconnects. */
export interface RedisNode {
  readonly nodeId: string;
  readonly prefix: string;
  readonly redis: RedisClient;
  readonly bus: RedisBus;
  readonly backplane: ChannelBackplane;
  close(): Promise<void>;
}

/**
 * Connects a gateway node to Redis.
 *
 * @example
 * ```ts
 * const node = await connectRedisNode({ url: 'redis://127.0.0.1:6379', retentionMs: 600_000 });
 * const hub = createChannelHub({ projectId, backplane: node.backplane });
 * // …
 * await hub.close();
 * await node.close();
 * ```
 */
export async function connectRedisNode(options: RedisNodeOptions): Promise<RedisNode> {
  const prefix = options.prefix ?? 'mr:';
  const nodeId = options.nodeId ?? randomUUID();
  const redis = await connectRedis(options.url, `mr-gateway-${nodeId}`);
  let subscriber: RedisClient | undefined;
  try {
    subscriber = await connectRedis(options.url, `mr-gateway-${nodeId}-bus`);
    const bus = await RedisBus.start({
      redis,
      subscriber,
      prefix,
      nodeId,
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    });
    const backplane = await createRedisBackplane({
      redis,
      bus,
      prefix,
      retentionMs: options.retentionMs,
      ...(options.maxTokensPerChannel !== undefined ? { maxTokensPerChannel: options.maxTokensPerChannel } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.timers ? { timers: options.timers } : {}),
      ...(options.randomBytes ? { randomBytes: options.randomBytes } : {}),
    });
    const sub = subscriber;
    let closing: Promise<void> | null = null;
    return {
      nodeId,
      prefix,
      redis,
      bus,
      backplane,
      close() {
        closing ??= (async () => {
          await backplane.close();
          await bus.close();
          sub.disconnect();
          redis.disconnect();
        })();
        return closing;
      },
    };
  } catch (error) {
    subscriber?.disconnect();
    redis.disconnect();
    throw error;
  }
}
