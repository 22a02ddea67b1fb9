import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BACKOFF, backoffDelay, isRetryableStatus, parseRetryAfter } from './retry-policy.js';

describe('backoffDelay', () => {
  it('stays within [0, min(max, initial·2^retry)) for any random in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (retry, r) => {
        const d = backoffDelay(retry, () => r);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThan(Math.min(BACKOFF.maxMs, BACKOFF.initialMs * 2 ** retry));
      }),
    );
  });

  it('doubles its cap per retry up to the maximum', () => {
    const top = () => 0.999999;
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, top))).toEqual([499, 999, 1999, 3999, 7999, 7999, 7999]);
  });

  it('tolerates a random source out of range', () => {
    expect(backoffDelay(0, () => 5)).toBe(500);
    expect(backoffDelay(0, () => -1)).toBe(0);
  });
});

describe('isRetryableStatus', () => {
  it('retries 408, 409, 429 and 5xx only', () => {
    const retryable = [200, 400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 503, 599].filter(isRetryableStatus);
    expect(retryable).toEqual([408, 409, 429, 500, 503, 599]);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12);
  it('reads seconds, decimals included', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 3 ', now)).toBe(3000);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('86400', now)).toBe(86_400_000);
  });
  it('reads an HTTP date relative to now; a past date is 0', () => {
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    for (const v of [null, undefined, '', '-1', 'soon', '1e3', '12abc!']) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});
