/**
 * Per-API-key token buckets in Redis: every gateway process takes from the same bucket, so the
 * limit holds for the whole deployment, not per process. One Lua script reads, refills and takes
 * atomically; the bucket expires once it would be full again, so idle keys leave nothing behind
 * (a missing bucket is a full one).
 */
import { createHash } from 'node:crypto';
import type { RateDecision, RateLimitStore } from '../http/rate-limit.js';
import { storeUnavailable, type RedisClient } from './redis.js';

/** What {@link createRedisRateLimiter} needs. */
export interface RedisRateLimiterOptions {
  redis: RedisClient;
  /** Every key goes under it, e.g. `mr:`. */
  prefix: string;
  /** Requests in a burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
  now: () => number;
}

/*
 * KEYS: bucket. ARGV: capacity, refill per second, now (ms), ttl (ms).
 * Returns {1, 0} when a token was taken, else {0, whole seconds until one is there (≥ 1)}.
 * `at` never moves backwards, so a node whose clock lags cannot hand out a refill twice.
 */
const TAKE_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = capacity
  at = now
end
if now > at then
  tokens = math.min(capacity, tokens + (now - at) / 1000 * rate)
  at = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if taken == 1 then return {1, 0} end
return {0, math.max(1, math.ceil((1 - tokens) / rate))}
`;

interface RateLimitCommands {
  mrTakeToken(key: string, capacity: number, refillPerSecond: number, now: number, ttlMs: number): Promise<[number, number]>;
}

/**
 * Creates the Redis rate limiter. A Redis failure rejects `take` with 503 `store_unavailable`.
 *
 * @example
 * ```ts
 * const limiter = createRedisRateLimiter({ redis, prefix: 'mr:', capacity: 60, refillPerSecond: 10, now: Date.now });
 * const decision = await limiter.take(apiKey);
 * ```
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RateLimitStore {
  const { redis, prefix, capacity, refillPerSecond, now } = options;
  redis.defineCommand('mrTakeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  const commands = redis as unknown as RateLimitCommands;
  // Time for an empty bucket to be full again, plus a second of slack: after it, the bucket is as
  // good as missing.
  const ttlMs = Math.ceil((capacity / refillPerSecond) * 1000) + 1000;

  return {
    async take(key: string): Promise<RateDecision> {
      // The bucket is named by a hash: API keys are secrets and do not belong in key names.
      const bucket = `${prefix}rate:${createHash('sha256').update(key).digest('hex')}`;
      let reply: [number, number];
      try {
        reply = await commands.mrTakeToken(bucket, capacity, refillPerSecond, now(), ttlMs);
      } catch (err) {
        throw storeUnavailable(err);
      }
      return reply[0] === 1 ? { ok: true } : { ok: false, retryAfterSeconds: reply[1] };
    },
  };
}
