/**
 * Checks on values of unknown shape (parsed JSON, config files, thrown errors), shared by the
 * HTTP layer, the channel hub, the configuration and the outgoing HTTP clients.
 */

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Whether `value` is a UUID in its canonical 8-4-4-4-12 hex form (any version, any case).
 *
 * @example
 * ```ts
 * isUuid('5f0c7c2e-8a4b-4f7e-9a57-0d3c1b2a4e6f'); // true
 * isUuid('not-a-uuid'); // false
 * ```
 */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_RE.test(value);
}

/**
 * Whether `value` is a JSON-style object: not null, not an array.
 *
 * @example
 * ```ts
 * isPlainObject({ a: 1 }); // true
 * isPlainObject([1]); // false
 * ```
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The parts of a failed fetch's `cause` worth reporting. */
export interface FetchFailureCause {
  /** `ECONNREFUSED`, `ENOTFOUND`, `UND_ERR_SOCKET`… */
  code?: string;
  message?: string;
}

/**
 * What a failed `fetch` says about why: undici throws a bare `TypeError('fetch failed')` and
 * keeps the useful part (the system error code) in `err.cause`.
 *
 * @example
 * ```ts
 * try { await fetch(url); } catch (err) {
 *   const { code } = fetchFailureCause(err); // 'ECONNREFUSED'
 * }
 * ```
 */
export function fetchFailureCause(err: unknown): FetchFailureCause {
  const cause = err instanceof Error ? (err as { cause?: unknown }).cause : undefined;
  if (typeof cause !== 'object' || cause === null) return {};
  const { code, message } = cause as { code?: unknown; message?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof message === 'string' ? { message } : {}),
  };
}
