/**
 * One API call, start to finish: the same serialised body and `Idempotency-Key` on every
 * attempt, retries with backoff or `Retry-After`, one overall deadline, and an `AbortSignal`
 * that stops everything at once, waits included.
 */
import { ModelRiverError } from '@modelriver/client/errors';
import {
  APIError,
  ConnectionError,
  RequestAbortedError,
  TimeoutError,
  fromResponse,
} from './errors.js';
import { backoffDelay, isRetryableStatus, parseRetryAfter } from './retry-policy.js';

/** Per-call options of every client method. */
export interface RequestOptions {
  /** Cancels the call at once, including a wait between attempts. */
  signal?: AbortSignal;
  /**
   * Overall deadline of the call, every attempt and wait included. Default: the client's `timeoutMs`.
   * A number of ms in (0, 2 147 483 647] (about 24.8 days, the most a timer can wait); anything
   * else, `Infinity` included, throws `invalid_argument`: there is no "no deadline".
   */
  timeoutMs?: number;
  /** Sent as `Idempotency-Key` on every attempt of this call. Default: a fresh UUID per call. */
  idempotencyKey?: string;
  /** Retries after the first attempt. Default: the client's `maxRetries`. */
  maxRetries?: number;
}

/** Everything the transport needs, resolved from the client's options. */
export interface TransportConfig {
  apiKey: string;
  timeoutMs: number;
  maxRetries: number;
  maxRetryAfterMs: number;
  fetch: typeof fetch;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  newIdempotencyKey: () => string;
}

/** One HTTP call to the API. */
export interface ApiCall {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
}

/** The longest `timeoutMs`: timers fire after about 1 ms for anything above 2^31 − 1 ms. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

// Abort reasons that tell our own deadline from the caller's signal.
const DEADLINE = Symbol('deadline');
const CALLER = Symbol('caller');

/**
 * Sleeps on real timers (which fake timers control) and wakes early, rejecting, on abort.
 *
 * @example
 * ```ts
 * await defaultSleep(500, AbortSignal.timeout(100)); // rejects after 100 ms
 * ```
 */
export function defaultSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs one call with retries and returns the parsed JSON answer, or throws an
 * {@link APIError} subclass (or a `ModelRiverError` `invalid_argument` for bad options).
 *
 * @example
 * ```ts
 * const ack = await send<AsyncAck>(config, { method: 'POST', url: `${base}/v1/ai/async`, body }, { timeoutMs: 10_000 });
 * ```
 */
export async function send<T>(config: TransportConfig, call: ApiCall, options: RequestOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? config.timeoutMs;
  const maxRetries = options.maxRetries ?? config.maxRetries;
  // Infinity (or any delay past 2^31 − 1 ms) would make setTimeout fire at once: an instant TimeoutError.
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new ModelRiverError('invalid_argument', `timeoutMs must be a number of ms in (0, ${MAX_TIMEOUT_MS}], got ${String(timeoutMs)}.`);
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new ModelRiverError('invalid_argument', `maxRetries must be an integer >= 0, got ${String(maxRetries)}.`);
  }
  const redact = redactor(config.apiKey);
  if (options.signal?.aborted) throw aborted(options.signal);

  const controller = new AbortController();
  const deadline = config.now() + timeoutMs;
  const timer = setTimeout(() => controller.abort(DEADLINE), timeoutMs);
  const onCallerAbort = () => controller.abort(CALLER);
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  const headers: Record<string, string> = { authorization: `Bearer ${config.apiKey}`, accept: 'application/json' };
  if (call.method !== 'GET') headers['idempotency-key'] = options.idempotencyKey ?? config.newIdempotencyKey();
  // Serialised once: every attempt sends the very same bytes.
  const body = call.body === undefined ? undefined : JSON.stringify(call.body);
  if (body !== undefined) headers['content-type'] = 'application/json';

  try {
    for (let retry = 0; ; retry++) {
      let failure: APIError;
      let retryAfterMs: number | undefined;
      try {
        const res = await config.fetch(call.url, { method: call.method, headers, body, signal: controller.signal });
        const text = await readAnswer(res, controller.signal);
        if (res.ok) return parseAnswer<T>(text!, res, redact);
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'), config.now());
        failure = fromResponse(res.status, parseLoose(redact(text ?? '')), res.headers, retryAfterMs);
        if (text === undefined) failure.message += '; the rest of the answer was cut off when the server closed the connection';
        // 413 and the other 4xx: sending the same bytes again gets the same answer.
        if (!isRetryableStatus(res.status)) throw failure;
      } catch (err) {
        if (err instanceof APIError) throw err;
        if (controller.signal.aborted) throw stopped(controller.signal.reason, options.signal, timeoutMs);
        failure = new ConnectionError(`Could not reach the gateway: ${redact(errorText(err))}`, {
          code: 'connection_error',
          cause: scrub(err, redact),
        });
      }

      if (retry >= maxRetries) throw failure;
      let wait: number;
      if (retryAfterMs !== undefined) {
        // Sleeping for a day inside a request helps nobody: fail now and let the caller schedule.
        if (retryAfterMs > config.maxRetryAfterMs) {
          failure.message += `; Retry-After asks for ${retryAfterMs} ms, more than maxRetryAfterMs (${config.maxRetryAfterMs}): not retried`;
          throw failure;
        }
        wait = retryAfterMs;
      } else {
        wait = backoffDelay(retry, config.random);
      }
      if (config.now() + wait >= deadline) {
        failure.message += `; not retried: waiting ${wait} ms would pass the ${timeoutMs} ms deadline`;
        throw failure;
      }
      try {
        await abortable(config.sleep(wait, controller.signal), controller.signal);
      } catch {
        throw stopped(controller.signal.reason, options.signal, timeoutMs);
      }
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

/**
 * The answer's text; `undefined` when an error status arrived but its body was cut off. A
 * server that refuses an upload early (413 before reading the body) often closes the connection
 * while the client is still sending, which can cut off its own answer: the status is still the
 * answer, not a network failure to retry. A cut-off 2xx rethrows, to be retried as one (the
 * request may have been taken; the retry's `Idempotency-Key` settles that).
 */
async function readAnswer(res: Response, signal: AbortSignal): Promise<string | undefined> {
  try {
    return await res.text();
  } catch (err) {
    if (res.ok || signal.aborted) throw err;
    return undefined;
  }
}

function parseAnswer<T>(text: string, res: Response, redact: (s: string) => string): T {
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new APIError(`The gateway answered ${res.status} with a body that is not JSON: ${redact(text.slice(0, 120))}`, {
      status: res.status,
      code: 'invalid_response',
      requestId: res.headers.get('x-request-id') ?? undefined,
    });
  }
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (an injected sleep may ignore it). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function stopped(reason: unknown, caller: AbortSignal | undefined, timeoutMs: number): APIError {
  if (reason === CALLER && caller) return aborted(caller);
  return new TimeoutError(`No answer within ${timeoutMs} ms (timeoutMs covers every attempt and wait).`, { code: 'timeout' });
}

function aborted(signal: AbortSignal): RequestAbortedError {
  return new RequestAbortedError('The call was aborted by its AbortSignal.', { code: 'aborted', cause: signal.reason });
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

function redactor(apiKey: string): (s: string) => string {
  return (s) => (apiKey ? s.split(apiKey).join('[redacted]') : s);
}

/**
 * A copy of a network error with the API key removed from its message, stack and causes:
 * some fetch implementations quote the offending header value in their errors.
 */
function scrub(err: unknown, redact: (s: string) => string, depth = 0): unknown {
  if (!(err instanceof Error)) return typeof err === 'string' ? redact(err) : undefined;
  const cause = depth < 3 && err.cause !== undefined ? scrub(err.cause, redact, depth + 1) : undefined;
  const copy = new Error(redact(err.message), cause === undefined ? undefined : { cause });
  copy.name = err.name;
  copy.stack = err.stack === undefined ? undefined : redact(err.stack);
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') (copy as Error & { code: string }).code = code;
  return copy;
}
