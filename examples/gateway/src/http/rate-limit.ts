/**
 * Per-API-key token buckets: `capacity` requests in a burst, refilled at `refillPerSecond`.
 * Only valid keys get a bucket (auth runs first), so the map is bounded by the configured keys.
 */

/** The outcome of {@link RateLimiter.take}. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * A token-bucket rate limiter keyed by API key.
 *
 * @example
 * ```ts
 * const limiter = new RateLimiter(60, 10, Date.now); // bursts of 60, 10 requests/s sustained
 * ```
 */
export class RateLimiter {
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
   * const decision = limiter.take(apiKey);
   * if (!decision.ok) res.setHeader('Retry-After', String(decision.retryAfterSeconds));
   * ```
   */
  take(key: string): RateDecision {
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
