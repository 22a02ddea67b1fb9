import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RECONNECT, DEFAULT_REJOIN, resolveBackoff } from './backoff.js';
import { ModelRiverError } from './errors.js';
import type { BackoffOptions } from './types.js';

const policy: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, maxAttempts: Infinity, minUptimeMs: 0 };

describe('backoffDelay', () => {
  it('grows exponentially with the attempt (random pinned at the top)', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, policy, top))).toEqual([99, 199, 399, 799]);
  });

  it('is capped at maxDelayMs however many attempts', () => {
    const top = () => 0.999999;
    expect(backoffDelay(4, policy, top)).toBe(999);
    expect(backoffDelay(50, policy, top)).toBe(999);
    // factor ** attempt overflows to Infinity: still the cap.
    expect(backoffDelay(5_000, policy, top)).toBe(999);
  });

  it('applies full jitter: random() scales the whole ceiling', () => {
    expect(backoffDelay(2, policy, () => 0)).toBe(0);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(2, policy, () => 0.25)).toBe(100);
  });

  it('treats a negative, fractional or NaN attempt and a bad random value safely', () => {
    expect(backoffDelay(-3, policy, () => 0.5)).toBe(50);
    expect(backoffDelay(Number.NaN, policy, () => 0.5)).toBe(50);
    expect(backoffDelay(1.7, policy, () => 0.5)).toBe(100);
    expect(backoffDelay(1, policy, () => Number.NaN)).toBe(0);
    expect(backoffDelay(1, policy, () => 7)).toBe(200);
  });

  it('always lies within [0, min(max, initial * factor^attempt)]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (attempt, r, initial, max) => {
          const options = { ...policy, initialDelayMs: initial, maxDelayMs: max };
          const delay = backoffDelay(attempt, options, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(max, initial * 2 ** attempt));
          expect(Number.isInteger(delay)).toBe(true);
        },
      ),
    );
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_RECONNECT).toEqual({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, maxAttempts: Infinity, minUptimeMs: 5_000 });
    expect(DEFAULT_REJOIN.maxAttempts).toBe(10);
    expect(backoffDelay(0, DEFAULT_RECONNECT, () => 0.999999)).toBe(499);
  });
});

describe('resolveBackoff', () => {
  it('merges overrides over defaults', () => {
    expect(resolveBackoff({ maxAttempts: 3 }, DEFAULT_RECONNECT, 'reconnect')).toEqual({ ...DEFAULT_RECONNECT, maxAttempts: 3 });
    expect(resolveBackoff(undefined, DEFAULT_REJOIN, 'rejoin')).toEqual(DEFAULT_REJOIN);
  });

  it('throws invalid_options naming the field', () => {
    const bad: Array<Partial<BackoffOptions>> = [{ factor: 0.5 }, { initialDelayMs: -1 }, { maxDelayMs: Infinity }, { maxAttempts: -1 }, { minUptimeMs: Number.NaN }];
    for (const override of bad) {
      const key = Object.keys(override)[0] as string;
      let caught: unknown;
      try {
        resolveBackoff(override, DEFAULT_RECONNECT, 'reconnect');
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ModelRiverError);
      expect((caught as ModelRiverError).code).toBe('invalid_options');
      expect((caught as ModelRiverError).message).toContain(`reconnect.${key}`);
    }
  });
});
