/**
 * Retry delays: exponential growth with full jitter, so clients dropped by the
 * same outage do not come back in lockstep.
 */
import { ModelRiverError } from './errors.js';
import type { BackoffOptions } from './types.js';

/** Socket reconnection defaults: 0–500 ms, doubling to 30 s, forever; reset after 5 s up. */
export const DEFAULT_RECONNECT: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 500,
  maxDelayMs: 30_000,
  factor: 2,
  maxAttempts: Infinity,
  minUptimeMs: 5_000,
});

/**
 * Channel rejoin defaults (join timeouts, `phx_error`, unknown refusals): 0–1 s,
 * doubling to 30 s, 10 attempts. A join that fails ten times in a row on a working
 * socket will not start working by itself, so the client gives up with `join_failed`.
 * `minUptimeMs` is unused for rejoins (a successful join resets the count).
 */
export const DEFAULT_REJOIN: Readonly<BackoffOptions> = Object.freeze({
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  factor: 2,
  maxAttempts: 10,
  minUptimeMs: 0,
});

/**
 * The delay before retry number `attempt` (0 for the first retry):
 * `random() * min(maxDelayMs, initialDelayMs * factor ** attempt)`, floored to whole ms.
 * Pure: pass `Math.random` in production and a fixed function in tests.
 *
 * @example
 * ```ts
 * backoffDelay(0, DEFAULT_RECONNECT, Math.random); // 0..500
 * backoffDelay(10, DEFAULT_RECONNECT, () => 0.5);  // 15000 (capped at 30 s, halved by jitter)
 * ```
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const step = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // `factor ** step` overflows to Infinity for large steps; min() then picks the cap.
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * options.factor ** step);
  if (!(ceiling > 0)) return 0;
  const r = random();
  const jitter = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.floor(jitter * ceiling);
}

/**
 * Merges caller overrides over defaults and checks them, throwing
 * `ModelRiverError('invalid_options')` with the fix when a value cannot work.
 *
 * @example
 * ```ts
 * const policy = resolveBackoff({ maxAttempts: 5 }, DEFAULT_RECONNECT, 'reconnect');
 * ```
 */
export function resolveBackoff(
  overrides: Partial<BackoffOptions> | undefined,
  defaults: Readonly<BackoffOptions>,
  name: string,
): BackoffOptions {
  const merged: BackoffOptions = { ...defaults };
  for (const key of Object.keys(defaults) as Array<keyof BackoffOptions>) {
    const given = overrides?.[key];
    const value = given === undefined ? merged[key] : given;
    const min = key === 'factor' ? 1 : 0;
    // `!(value >= min)` also refuses NaN; only maxAttempts may be Infinity ("no limit").
    if (typeof value !== 'number' || !(value >= min) || (value === Infinity && key !== 'maxAttempts')) {
      throw new ModelRiverError('invalid_options', `${name}.${key} must be a number >= ${min}, got ${String(value)}`);
    }
    merged[key] = value;
  }
  return merged;
}
