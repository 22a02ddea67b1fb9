/**
 * The one way the gateway talks to Redis: an ioredis connection that fails fast while Redis is
 * away (so the API answers 503 instead of hanging) and reconnects by itself, and the error every
 * store turns a Redis failure into.
 */
import { Redis } from 'ioredis';
import { ConfigError } from '../config-error.js';
import { ErrorCode, GatewayError } from '../errors.js';

/** A connected ioredis client. */
export type RedisClient = Redis;

/**
 * Opens a connection to `url` and waits until it is ready. Commands issued while the link is down
 * fail at once (no offline queue): callers turn that into {@link storeUnavailable}.
 *
 * @example
 * ```ts
 * const redis = await connectRedis('redis://127.0.0.1:6379', 'gateway');
 * await redis.ping();
 * redis.disconnect();
 * ```
 */
export async function connectRedis(url: string, name: string, readyTimeoutMs = 5_000): Promise<RedisClient> {
  const client = new Redis(url, {
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // A Redis that vanishes without closing the connection must not hold a request forever.
    commandTimeout: 2_000,
    // Reconnect forever, backing off to 1 s: Redis coming back is the normal end of an outage.
    retryStrategy: (times) => Math.min(50 * times, 1_000),
  });
  // Errors surface on the commands that fail; an unhandled 'error' event must not crash the process.
  client.on('error', () => {});
  // Later outages are waited out; a Redis that is not there at the start is a configuration error.
  await new Promise<void>((resolve, reject) => {
    let lastError = '';
    const onError = (error: Error): void => {
      lastError = error.message;
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      client.off('error', onError);
      client.disconnect();
      const why = lastError ? ` (${lastError})` : '';
      reject(new ConfigError(`redisUrl: could not connect to Redis at ${redactUrl(url)} within ${readyTimeoutMs} ms${why}; is it running?`));
    }, readyTimeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      client.off('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
  return client;
}

/**
 * The error a request gets while Redis is unreachable: 503 `store_unavailable` with a
 * `Retry-After` of 1 s, in the contract's error shape.
 *
 * @example
 * ```ts
 * try { await redis.get(key); } catch (err) { throw storeUnavailable(err); }
 * ```
 */
export function storeUnavailable(cause: unknown): GatewayError {
  if (cause instanceof GatewayError) return cause;
  const why = cause instanceof Error ? cause.message : String(cause);
  return new GatewayError(503, ErrorCode.storeUnavailable, `the gateway's store is unavailable: ${why}`, { 'retry-after': '1' });
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable url)';
  }
}
