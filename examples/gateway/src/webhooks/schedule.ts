import { MAX_TIMER_MS } from '../timers.js';
import { WebhookConfigError, WebhookConfigErrorCode } from './errors.js';

/** Contract §3 default: retries after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h and 2 h. */
export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  5_000,
  30_000,
  120_000,
  600_000,
  1_800_000,
  3_600_000,
  7_200_000,
]);

/** Default per-attempt timeout (contract §3: a 2xx must arrive within it). */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;


/**
 * Checks a retry schedule and returns a frozen copy, so a caller mutating its array later
 * cannot change deliveries already under way.
 *
 * @example
 * ```ts
 * const schedule = normaliseRetrySchedule([10, 50, 200]); // [10, 50, 200]
 * normaliseRetrySchedule([-1]); // throws WebhookConfigError('invalid_retry_schedule')
 * ```
 */
export function normaliseRetrySchedule(schedule: readonly number[] | undefined): readonly number[] {
  if (schedule === undefined) return DEFAULT_RETRY_SCHEDULE_MS;
  if (!Array.isArray(schedule)) {
    throw new WebhookConfigError(WebhookConfigErrorCode.invalidRetrySchedule, 'retryScheduleMs must be an array of delays in milliseconds');
  }
  schedule.forEach((delay, i) => {
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > MAX_TIMER_MS) {
      throw new WebhookConfigError(
        WebhookConfigErrorCode.invalidRetrySchedule,
        `retryScheduleMs[${i}] must be a number of milliseconds between 0 and ${MAX_TIMER_MS}, got ${String(delay)}`,
      );
    }
  });
  return Object.freeze([...schedule]);
}

/**
 * Checks a per-attempt timeout (milliseconds, positive).
 *
 * @example
 * ```ts
 * normaliseTimeout(undefined); // 10_000
 * normaliseTimeout(250); // 250
 * ```
 */
export function normaliseTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMER_MS) {
    throw new WebhookConfigError(
      WebhookConfigErrorCode.invalidTimeout,
      `timeoutMs must be a positive number of milliseconds up to ${MAX_TIMER_MS}, got ${String(timeoutMs)}`,
    );
  }
  return timeoutMs;
}
