/**
 * Per-API-key token buckets: `capacity` requests in a burst, refilled at `refillPerSecond`.
 * Only valid keys get a bucket (auth runs first), so the map is bounded by the configured keys.
 * {@link RateLimitStore} is the seam: {@link RateLimiter} here (one process), or
 * `createRedisRateLimiter` in src/store (one bucket per key shared by gateway processes).
 */

/** The outcome of {@link RateLimitStore.take}. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Where the buckets live.
 *
 * @example
 * ```ts
 * const decision = await limiter.take(apiKey);
 * if (!decision.ok) res.setHeader('Retry-After', String(decision.retryAfterSeconds));
 * ```
 */
export interface RateLimitStore {
  /** Takes one token from `key`'s bucket, or says how many whole seconds until one is available. */
  take(key: string): Promise<RateDecision>;
}

/**
 * A token-bucket rate limiter keyed by API key.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter(60, 10, Date.now); // bursts of 60, 10 requests/s sustained
 * ```
 */
export class RateLimiter implements RateLimitStore {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly now: () => number,
  ) {}

  /**
   * Takes one token from `key`'s bucket, or says how many whole seconds until one is available.
   *
   * @example
   * ```ts
   * const decision = await limiter.take(apiKey);
   * if (!decision.ok) res.setHeader('Retry-After', String(decision.retryAfterSeconds));
   * ```
   */
  take(key: string): Promise<RateDecision> {
    return Promise.resolve(this.takeNow(key));
  }

  private takeNow(key: string): RateDecision {
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    const elapsed = Math.max(0, now - bucket.at) / 1000;
    bucket.tokens = Math.min(this.capacity, bucket.tokens + elapsed * this.refillPerSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    // Whole seconds, rounded up, at least 1: Retry-After has no fractions.
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.refillPerSecond)) };
  }
}
