/**
 * When to retry an API call and how long to wait: pure functions, so the policy is tested
 * without a network or a clock.
 */
import { backoffDelay as jitteredBackoff, type BackoffOptions } from '@modelriver/client';

/** First backoff cap and the largest backoff, in ms. */
export const BACKOFF = { initialMs: 500, maxMs: 8_000 } as const;

// The API client's policy in the terms of @modelriver/client's backoff (shared with its reconnects).
// Only the delay fields are read; the attempt limit is `maxRetries` and uptime does not apply.
const API_BACKOFF: BackoffOptions = { initialDelayMs: BACKOFF.initialMs, maxDelayMs: BACKOFF.maxMs, factor: 2, maxAttempts: Infinity, minUptimeMs: 0 };

/**
 * Exponential backoff with full jitter: a uniform wait in `[0, min(max, initial·2^retry))`,
 * so that many clients retrying after one outage do not retry in step. `@modelriver/client`'s
 * `backoffDelay` with this client's 500 ms / 8 s policy.
 *
 * @example
 * ```ts
 * backoffDelay(0, Math.random); // 0..500 ms
 * backoffDelay(3, () => 0.5);   // 2 000 ms
 * ```
 */
export function backoffDelay(retry: number, random: () => number): number {
  return jitteredBackoff(retry, API_BACKOFF, random);
}

/**
 * Whether an HTTP status is worth another attempt: 408 (timeout), 409 (conflict, e.g. a lock),
 * 429 (rate limited) and every 5xx. Other 4xx mean the request itself is wrong.
 *
 * @example
 * ```ts
 * isRetryableStatus(503); // true
 * isRetryableStatus(400); // false
 * ```
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Parses `Retry-After`: delay seconds (decimals accepted) or an HTTP date, into ms from `nowMs`.
 * Returns undefined when absent or unreadable; a date in the past gives 0.
 *
 * @example
 * ```ts
 * parseRetryAfter('2', Date.now());                              // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.now());  // 0 (in the past)
 * ```
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  // Only an HTTP date (it has a weekday or month name): Date.parse alone accepts too much.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
