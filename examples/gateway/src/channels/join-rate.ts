/**
 * The join allowance of one socket: a token bucket holding up to `burst` joins, refilled at
 * `perSecond`. Time comes from the hub's clock on every call, so a test that injects the clock
 * decides exactly when a join is allowed again.
 *
 * @example
 * ```ts
 * const rate = new JoinRate(2, 1, 0); // 2 at once, then 1 a second
 * rate.take(0);    // true
 * rate.take(0);    // true
 * rate.take(0);    // false: over the burst
 * rate.take(1000); // true: one join refilled
 * ```
 */
export class JoinRate {
  private allowance: number;
  private updatedAt: number;

  constructor(
    private readonly burst: number,
    private readonly perSecond: number,
    now: number,
  ) {
    this.allowance = burst;
    this.updatedAt = now;
  }

  /** Uses up one join if the bucket holds one; `false` means the join must be refused. */
  take(now: number): boolean {
    // A clock that steps back (an injected one, or a wall clock corrected) refills nothing.
    const elapsed = Math.max(0, now - this.updatedAt);
    this.allowance = Math.min(this.burst, this.allowance + (elapsed * this.perSecond) / 1000);
    this.updatedAt = now;
    if (this.allowance < 1) return false;
    this.allowance -= 1;
    return true;
  }
}
