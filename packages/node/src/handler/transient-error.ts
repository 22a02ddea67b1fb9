/**
 * Which failures of a webhook callback are worth a redelivery: the rule that decides whether a
 * throw inside `onAiGenerated` ends the request with an error now or is tried again later.
 */
import { ConnectionError, RateLimitError, ServerError, TimeoutError } from '../client/errors.js';

// Node and undici codes of a network that failed on its way, not of a request that is wrong.
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * Whether an error thrown by a webhook callback is transient, so the delivery should be
 * retried rather than the request failed. In this order:
 *
 * 1. an own `retryable` boolean on the error decides (`Object.assign(err, { retryable: true })`);
 * 2. this package's `ConnectionError`, `TimeoutError`, `ServerError` and `RateLimitError`
 *    (another API call that failed after its own retries) are transient;
 * 3. an error named `TimeoutError` (e.g. from `AbortSignal.timeout`) is transient;
 * 4. an error whose `code`, or whose `cause`'s `code` (up to three levels), is a network code
 *    such as `ECONNRESET`, `ECONNREFUSED`, `ETIMEDOUT`, `EAI_AGAIN` or undici's `UND_ERR_SOCKET` is transient;
 * 5. anything else (a bug, bad data, a refused lookup) is not: retrying would fail the same way.
 *
 * @example
 * ```ts
 * isTransientError(Object.assign(new Error('inventory busy'), { retryable: true })); // true
 * isTransientError(new TypeError("Cannot read properties of undefined (reading 'sku')")); // false
 * ```
 */
export function isTransientError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const e = current as { retryable?: unknown; code?: unknown; name?: unknown; cause?: unknown };
    if (depth === 0 && typeof e.retryable === 'boolean') return e.retryable;
    if (
      current instanceof ConnectionError ||
      current instanceof TimeoutError ||
      current instanceof ServerError ||
      current instanceof RateLimitError ||
      e.name === 'TimeoutError'
    ) {
      return true;
    }
    if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
    current = e.cause;
  }
  return false;
}
