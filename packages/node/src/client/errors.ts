/**
 * Errors of the HTTP API client: {@link APIError} (a {@link ModelRiverError} with the HTTP
 * status and request id), one subclass per kind of failure callers handle differently, and one
 * function mapping an HTTP answer to them.
 */
import { ModelRiverError } from '@modelriver/client/errors';

/** What every {@link APIError} carries besides its message. */
export interface APIErrorInit {
  /** HTTP status, when the gateway answered. */
  status?: number;
  /** Stable snake_case code: the gateway's `error.code`, or one of ours (`timeout`, `connection_error`, …). */
  code: string;
  /** The gateway's `x-request-id`, to quote in a support request. */
  requestId?: string;
  /** The underlying error, if any (e.g. the network error of a {@link ConnectionError}). */
  cause?: unknown;
  /** Marks the error as caused by an `AbortSignal` (sets `isAbort`, as the client's stream errors do). */
  abort?: boolean;
}

/**
 * Base of every error an API call throws: a {@link ModelRiverError} (so `instanceof
 * ModelRiverError` and `ModelRiverError.is(err, code)` catch it with every other error of the
 * suite) that also carries the HTTP `status` and `requestId`. Switch on `code` (stable) or use
 * `instanceof` with a subclass. Never contains the API key: not in `message`, `cause` or `toJSON()`.
 *
 * @example
 * ```ts
 * try {
 *   await modelRiver.ai.async({ workflow: 'chat', messages });
 * } catch (err) {
 *   if (err instanceof RateLimitError) console.warn(`retry in ${err.retryAfterMs} ms`);
 *   else if (err instanceof APIError) console.error(err.code, err.status, err.requestId);
 *   else if (err instanceof ModelRiverError) console.error(err.code, err.message); // e.g. invalid_argument
 * }
 * ```
 */
export class APIError extends ModelRiverError {
  readonly status: number | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, init: APIErrorInit) {
    super(init.code, message, { cause: init.cause, abort: init.abort === true });
    this.status = init.status;
    this.requestId = init.requestId;
  }

  /** A loggable summary: name, code, status, requestId, message (and the cause's name and message). */
  toJSON(): Record<string, unknown> {
    const cause = this.cause instanceof Error ? { name: this.cause.name, message: this.cause.message } : undefined;
    return { name: this.name, code: this.code, status: this.status, requestId: this.requestId, message: this.message, cause };
  }
}

/**
 * 401/403: the API key is missing, wrong or not allowed here. Not retried.
 *
 * @example
 * ```ts
 * if (err instanceof AuthenticationError) console.error('check MODELRIVER_API_KEY');
 * ```
 */
export class AuthenticationError extends APIError {}

/**
 * 429 after the retries, or with a `Retry-After` longer than `maxRetryAfterMs` (then not retried at all).
 *
 * @example
 * ```ts
 * if (err instanceof RateLimitError && err.retryAfterMs !== undefined) scheduleLater(err.retryAfterMs);
 * ```
 */
export class RateLimitError extends APIError {
  /** What the gateway's `Retry-After` asked for, in ms (uncapped), when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: APIErrorInit & { retryAfterMs?: number }) {
    super(message, init);
    this.retryAfterMs = init.retryAfterMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/**
 * 404: unknown channel or workflow.
 *
 * @example
 * ```ts
 * if (err instanceof NotFoundError) return res.status(404).end();
 * ```
 */
export class NotFoundError extends APIError {}

/**
 * 400/409/413/422, or an argument refused before sending (`code: 'invalid_argument'`, no status).
 *
 * @example
 * ```ts
 * if (err instanceof InvalidRequestError) console.error(err.message); // names the field
 * ```
 */
export class InvalidRequestError extends APIError {}

/**
 * The gateway could not be reached (DNS, refused, reset) after the retries.
 *
 * @example
 * ```ts
 * if (err instanceof ConnectionError) console.error('gateway unreachable', err.cause);
 * ```
 */
export class ConnectionError extends APIError {}

/**
 * The call's overall deadline (`timeoutMs`, covering every attempt and wait) passed.
 *
 * @example
 * ```ts
 * await modelRiver.ai.sync(body, { timeoutMs: 5_000 }).catch((e) => { if (e instanceof TimeoutError) fallback(); else throw e; });
 * ```
 */
export class TimeoutError extends APIError {}

/**
 * 5xx after the retries.
 *
 * @example
 * ```ts
 * if (err instanceof ServerError) console.error('gateway fault', err.requestId);
 * ```
 */
export class ServerError extends APIError {}

/**
 * The caller's `AbortSignal` fired. `name` is `AbortError`, like fetch's; `code` is `aborted`; `isAbort` is true
 * and `cause` is the signal's `reason`.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 100);
 * await modelRiver.ai.sync(body, { signal: ac.signal }).catch((e) => e.name === 'AbortError'); // also e.isAbort, e.code === 'aborted'
 * ```
 */
export class RequestAbortedError extends APIError {
  constructor(message: string, init: APIErrorInit) {
    super(message, { ...init, abort: true });
  }
}

// On the prototypes rather than as class fields: the stack header is written inside super(),
// before a field would be set, and a bundler may rename the classes. `RequestAbortedError` is
// named `AbortError` like fetch's, so abort-aware code that tests `name` recognises it.
APIError.prototype.name = 'APIError';
AuthenticationError.prototype.name = 'AuthenticationError';
RateLimitError.prototype.name = 'RateLimitError';
NotFoundError.prototype.name = 'NotFoundError';
InvalidRequestError.prototype.name = 'InvalidRequestError';
ConnectionError.prototype.name = 'ConnectionError';
TimeoutError.prototype.name = 'TimeoutError';
ServerError.prototype.name = 'ServerError';
RequestAbortedError.prototype.name = 'AbortError';

/** Reads a header from a Fetch `Headers` or a plain object. */
function header(headers: Headers | Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/**
 * Maps an HTTP error answer to the right {@link APIError} subclass. `body` is the parsed
 * JSON (`{error: {code, message}}`) or the raw text; `retryAfterMs` is the parsed `Retry-After`.
 *
 * @example
 * ```ts
 * const err = fromResponse(429, { error: { code: 'rate_limited', message: 'Slow down' } }, res.headers, 2_000);
 * err instanceof RateLimitError; // true
 * ```
 */
export function fromResponse(
  status: number,
  body: unknown,
  headers?: Headers | Record<string, string | undefined>,
  retryAfterMs?: number,
): APIError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null | undefined)?.error;
  const code = typeof error?.code === 'string' && error.code ? error.code : `http_${status}`;
  const detail =
    typeof error?.message === 'string' && error.message
      ? error.message
      : typeof body === 'string' && body.trim()
        ? body.trim().slice(0, 200)
        : `HTTP ${status}`;
  const init = { status, code, requestId: header(headers, 'x-request-id') };
  const message = `${detail} (HTTP ${status}, ${code})`;
  if (status === 401 || status === 403) return new AuthenticationError(message, init);
  if (status === 429) return new RateLimitError(message, { ...init, retryAfterMs });
  if (status === 404) return new NotFoundError(message, init);
  if (status === 400 || status === 409 || status === 413 || status === 422) return new InvalidRequestError(message, init);
  if (status >= 500) return new ServerError(message, init);
  return new APIError(message, init);
}
