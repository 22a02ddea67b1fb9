/**
 * Errors of the HTTP API client: one base class with a stable `code`, one subclass per kind
 * of failure callers handle differently, and one function mapping an HTTP answer to them.
 */

/** What every {@link ModelRiverError} carries besides its message. */
export interface ModelRiverErrorInit {
  /** HTTP status, when the gateway answered. */
  status?: number;
  /** Stable snake_case code: the gateway's `error.code`, or one of ours (`timeout`, `connection_error`, …). */
  code: string;
  /** The gateway's `x-request-id`, to quote in a support request. */
  requestId?: string;
  cause?: unknown;
}

/**
 * Base of every error the API client throws. Switch on `code` (stable) or use `instanceof`
 * with a subclass. Never contains the API key: not in `message`, `cause` or `toJSON()`.
 *
 * @example
 * ```ts
 * try {
 *   await modelRiver.ai.async({ workflow: 'chat', messages });
 * } catch (err) {
 *   if (err instanceof RateLimitError) console.warn(`retry in ${err.retryAfterMs} ms`);
 *   else if (err instanceof ModelRiverError) console.error(err.code, err.status, err.requestId);
 * }
 * ```
 */
export class ModelRiverError extends Error {
  override name = 'ModelRiverError';
  readonly status: number | undefined;
  readonly code: string;
  readonly requestId: string | undefined;

  constructor(message: string, init: ModelRiverErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
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
export class AuthenticationError extends ModelRiverError {
  override name = 'AuthenticationError';
}

/**
 * 429 after the retries, or with a `Retry-After` longer than `maxRetryAfterMs` (then not retried at all).
 *
 * @example
 * ```ts
 * if (err instanceof RateLimitError && err.retryAfterMs !== undefined) scheduleLater(err.retryAfterMs);
 * ```
 */
export class RateLimitError extends ModelRiverError {
  override name = 'RateLimitError';
  /** What the gateway's `Retry-After` asked for, in ms (uncapped), when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: ModelRiverErrorInit & { retryAfterMs?: number }) {
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
export class NotFoundError extends ModelRiverError {
  override name = 'NotFoundError';
}

/**
 * 400/409/413/422, or an argument refused before sending (`code: 'invalid_argument'`, no status).
 *
 * @example
 * ```ts
 * if (err instanceof InvalidRequestError) console.error(err.message); // names the field
 * ```
 */
export class InvalidRequestError extends ModelRiverError {
  override name = 'InvalidRequestError';
}

/**
 * The gateway could not be reached (DNS, refused, reset) after the retries.
 *
 * @example
 * ```ts
 * if (err instanceof ConnectionError) console.error('gateway unreachable', err.cause);
 * ```
 */
export class ConnectionError extends ModelRiverError {
  override name = 'ConnectionError';
}

/**
 * The call's overall deadline (`timeoutMs`, covering every attempt and wait) passed.
 *
 * @example
 * ```ts
 * await modelRiver.ai.sync(body, { timeoutMs: 5_000 }).catch((e) => { if (e instanceof TimeoutError) fallback(); else throw e; });
 * ```
 */
export class TimeoutError extends ModelRiverError {
  override name = 'TimeoutError';
}

/**
 * 5xx after the retries.
 *
 * @example
 * ```ts
 * if (err instanceof ServerError) console.error('gateway fault', err.requestId);
 * ```
 */
export class ServerError extends ModelRiverError {
  override name = 'ServerError';
}

/**
 * The caller's `AbortSignal` fired. `name` is `AbortError`, like fetch's; `code` is `aborted`.
 *
 * @example
 * ```ts
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 100);
 * await modelRiver.ai.sync(body, { signal: ac.signal }).catch((e) => e.name === 'AbortError');
 * ```
 */
export class RequestAbortedError extends ModelRiverError {
  override name = 'AbortError';
}

/** Reads a header from a Fetch `Headers` or a plain object. */
function header(headers: Headers | Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/**
 * Maps an HTTP error answer to the right {@link ModelRiverError} subclass. `body` is the parsed
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
): ModelRiverError {
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
  return new ModelRiverError(message, init);
}
