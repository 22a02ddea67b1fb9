/**
 * Where the gateway keeps what it must not lose: in this process's memory (the default, nothing
 * to set up) or in Redis (`redisUrl`), where several gateway processes share it and a restart
 * loses nothing. Every store the gateway uses comes from here, behind the same interfaces.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelBackplane } from './channels/backplane.js';
import type { GatewayConfig } from './config.js';
import { IdempotencyCache, type IdempotencyStore } from './http/idempotency.js';
import { RateLimiter, type RateLimitStore } from './http/rate-limit.js';
import type { Logger } from './logger.js';
import { localCoordinator, type RunCoordinator } from './runner/coordinator.js';
import { RequestStore, type RequestLogStore } from './runner/request-store.js';
import { createErrorThrottle } from './store/error-throttle.js';
import { createCliRouting, type CliRouting } from './store/redis-cli-routing.js';
import { createRedisIdempotency } from './store/redis-idempotency.js';
import { connectRedisNode, type RedisNode } from './store/redis-node.js';
import { createRedisRateLimiter } from './store/redis-rate-limit.js';
import { createRedisRequestLogs } from './store/redis-request-logs.js';
import { createRedisRunCoordinator } from './store/redis-runs.js';
import type { Timers } from './timers.js';
import { createQueueWebhookDispatcher, createWebhookDispatcher } from './webhooks/index.js';
import type { WebhookDispatcher, WebhookDispatcherOptions } from './webhooks/types.js';

/** The gateway's stores (see the module comment). */
export interface GatewayState {
  readonly mode: 'memory' | 'redis';
  /** This node's id among the nodes sharing the store (`null` in memory). */
  readonly nodeId: string | null;
  readonly backplane: ChannelBackplane | undefined;
  readonly requestLogs: RequestLogStore;
  readonly idempotency: IdempotencyStore;
  readonly limiter: RateLimitStore;
  readonly coordinator: RunCoordinator;
  /** With Redis: webhooks for a CLI connected to another node go there. */
  readonly cliRouting: CliRouting | undefined;
  createDispatcher(options: WebhookDispatcherOptions): Promise<WebhookDispatcher>;
  /**
   * The default project's id. With Redis and no id configured, the first node to start picks
   * one and every node after it uses the same (topics must agree across nodes).
   */
  sharedProjectId(configured: string, explicit: boolean): Promise<string>;
  close(): Promise<void>;
}

/**
 * Opens the stores `config` asks for.
 *
 * @example
 * ```ts
 * const state = await openState(config, { now: Date.now, timers: systemTimers, logger });
 * const runner = new Runner({ ...deps, store: state.requestLogs, coordinator: state.coordinator });
 * ```
 */
export async function openState(config: GatewayConfig, env: { now: () => number; timers: Timers; logger: Logger }): Promise<GatewayState> {
  if (config.redisUrl === null) return memoryState(config, env.now);
  return redisState(config, config.redisUrl, env);
}

function memoryState(config: GatewayConfig, now: () => number): GatewayState {
  return {
    mode: 'memory',
    nodeId: null,
    backplane: undefined,
    requestLogs: new RequestStore(config.requestLogRetentionMs, now),
    idempotency: new IdempotencyCache(config.requestLogRetentionMs, now),
    limiter: new RateLimiter(config.rateLimitCapacity, config.rateLimitRefillPerSecond, now),
    coordinator: localCoordinator(),
    cliRouting: undefined,
    createDispatcher: async (options) => createWebhookDispatcher(options),
    sharedProjectId: async (configured) => configured,
    close: async () => {},
  };
}

async function redisState(
  config: GatewayConfig,
  url: string,
  env: { now: () => number; timers: Timers; logger: Logger },
): Promise<GatewayState> {
  // While Redis is down every failed command reports: one full line per kind of error, then counts.
  const storeErrors = createErrorThrottle({
    report: (error) => env.logger.error('redis store', error),
    summarize: (line) => env.logger.error(`redis store: ${line}`),
    now: env.now,
  });
  const onError = (error: unknown): void => storeErrors.report(error);
  const node: RedisNode = await connectRedisNode({
    url,
    prefix: config.redisKeyPrefix,
    nodeId: randomUUID(),
    retentionMs: config.channelRetentionMs,
    maxTokensPerChannel: config.maxTokensPerChannel,
    now: env.now,
    timers: env.timers,
    onError,
  });
  const { redis, prefix } = node;
  const requestLogs = createRedisRequestLogs({ redis, prefix, retentionMs: config.requestLogRetentionMs, now: env.now, onError });
  let dispatcher: WebhookDispatcher | undefined;
  const cliRouting = createCliRouting({ redis, bus: node.bus, prefix, now: env.now, timers: env.timers, onError });
  return {
    mode: 'redis',
    nodeId: node.nodeId,
    backplane: node.backplane,
    requestLogs,
    idempotency: createRedisIdempotency({ redis, prefix, ttlMs: config.requestLogRetentionMs, timers: env.timers }),
    limiter: createRedisRateLimiter({
      redis,
      prefix,
      capacity: config.rateLimitCapacity,
      refillPerSecond: config.rateLimitRefillPerSecond,
      now: env.now,
    }),
    coordinator: createRedisRunCoordinator({ redis, bus: node.bus, prefix, leaseMs: config.nodeLeaseMs, now: env.now, timers: env.timers }),
    cliRouting,
    async createDispatcher(options) {
      const queue = createQueueWebhookDispatcher({ ...options, redis: url, prefix, onError });
      dispatcher = queue;
      await queue.ready();
      return queue;
    },
    async sharedProjectId(configured, explicit) {
      if (explicit) return configured;
      await redis.set(`${prefix}default-project`, configured, 'NX');
      return (await redis.get(`${prefix}default-project`)) ?? configured;
    },
    async close() {
      await requestLogs.flush().catch(onError);
      await requestLogs.close();
      await dispatcher?.close();
      await cliRouting.close();
      await node.close();
      storeErrors.flush();
    },
  };
}
