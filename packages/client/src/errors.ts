/**
 * The client's one error class. Every failure a caller can observe carries a
 * stable string `code` so code can branch on it without parsing messages.
 */

/** Stable error codes. Values are the wire/snake_case strings callers compare against. */
export const ErrorCode = {
  /** The join was refused as `unauthorized` (wrong topic for the token). Never retried. */
  unauthorized: 'unauthorized',
  /** The channel does not exist (any more): the join was refused, or the backend answered so when asked for a token. */
  notFound: 'not_found',
  /** The backend's reconnect endpoint answered that the channel has finished and its events are gone. */
  channelExpired: 'channel_expired',
  /** The topic is not `ai_response:{project_id}:{channel_id}`. */
  invalidChannelFormat: 'invalid_channel_format',
  /** The join kept failing (timeouts or unknown refusals) until the rejoin policy gave up. */
  joinFailed: 'join_failed',
  /** No token to connect with: no resume token, no `getToken`, no backend. */
  tokenUnavailable: 'token_unavailable',
  /** The reconnection policy gave up after `maxAttempts`. */
  connectionFailed: 'connection_failed',
  /** A heartbeat went unanswered; the link was closed (and is retried). */
  heartbeatTimeout: 'heartbeat_timeout',
  /** A push was not sent and answered in time. */
  pushTimeout: 'push_timeout',
  /** A push was refused because the offline buffer was full. */
  pushOverflow: 'push_overflow',
  /** The operation needs an active request. */
  notConnected: 'not_connected',
  /** The request ended with a `response` whose status is `error`. */
  requestFailed: 'request_failed',
  /** The request was cancelled (or a `stream()` was aborted). */
  cancelled: 'cancelled',
  /** The client was destroyed. */
  destroyed: 'destroyed',
  /** The caller passed options that cannot work; the message says the fix. */
  invalidOptions: 'invalid_options',
  /** The server sent something outside the contract. */
  protocolError: 'protocol_error',
  /** `decodeToken()` was given something that is not a ModelRiver JWT (e.g. an opaque token). */
  invalidToken: 'invalid_token',
} as const;

/** One of the codes in {@link ErrorCode}. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Options of {@link ModelRiverError}. */
export interface ModelRiverErrorOptions {
  /** Extra context (e.g. the join reply, the HTTP status). */
  details?: Record<string, unknown>;
  /** The underlying error, if any. */
  cause?: unknown;
  /** Overrides `name` (default `ModelRiverError`). */
  name?: string;
  /** Marks the error as caused by an `AbortSignal` (sets `isAbort`). */
  abort?: boolean;
}

/**
 * An error with a stable `code`. A failed request (`response` with status `error`)
 * carries the server's own code (e.g. `invalid_structured_output`), so `code` is
 * an {@link ErrorCode} or any other snake_case string from the wire.
 *
 * @example
 * ```ts
 * client.on('error', (err) => {
 *   if (err instanceof ModelRiverError && err.code === ErrorCode.unauthorized) showLogin();
 * });
 * ```
 */
export class ModelRiverError extends Error {
  // `declare`d and assigned in the constructor: class field syntax would cost a helper per field in ES2020 output.
  declare readonly code: ErrorCode | (string & {});
  declare readonly details: Record<string, unknown> | undefined;
  /**
   * True when an `AbortSignal` caused the error (an aborted `stream()`; its code is `cancelled`
   * and its `cause` the signal's `reason`). The `name` stays `ModelRiverError`: test `isAbort`
   * where abort-aware code would test `name === 'AbortError'`.
   */
  declare readonly isAbort: boolean;

  constructor(code: ErrorCode | (string & {}), message: string, options: ModelRiverErrorOptions = {}) {
    super(message);
    // Only an override becomes an own property: the prototype's name (below) is already on the
    // stack header, so String(err), console.log and util.inspect all say ModelRiverError.
    if (options.name !== undefined) this.name = options.name;
    this.code = code;
    this.details = options.details;
    this.isAbort = options.abort === true;
    // Assigned rather than passed to super() so ES2020 targets keep it too.
    if (options.cause !== undefined) Object.defineProperty(this, 'cause', { value: options.cause, configurable: true, writable: true });
    // Keeps `instanceof` working when compiled to ES5-style classes by a consumer's bundler.
    Object.setPrototypeOf(this, new.target.prototype);
  }

  /**
   * Whether `value` is a ModelRiverError (optionally with the given code). Works
   * across bundle copies, where `instanceof` may not.
   *
   * @example
   * ```ts
   * try { await client.cancel(); } catch (e) { if (ModelRiverError.is(e, 'not_connected')) return; throw e; }
   * ```
   */
  static is(value: unknown, code?: ErrorCode | (string & {})): value is ModelRiverError {
    const v = value as { code?: unknown; name?: unknown } | null;
    return (
      (value instanceof ModelRiverError ||
        (typeof v === 'object' && v !== null && typeof v.code === 'string' && (v.name === 'ModelRiverError' || v.name === 'AbortError' || hasRootPrototype(v)))) &&
      (code === undefined || (v as { code: unknown }).code === code)
    );
  }
}

// On the prototype rather than assigned in the constructor: the stack header is captured during
// super(), before the constructor body runs, and a bundler may rename the class (`_ModelRiverError`).
ModelRiverError.prototype.name = 'ModelRiverError';

// A subclass from another copy (e.g. @modelriver/node's APIError) names itself, but the root's
// prototype, named ModelRiverError, is still in its chain.
function hasRootPrototype(v: object): boolean {
  for (let p: { name?: unknown } | null = Object.getPrototypeOf(v); p; p = Object.getPrototypeOf(p)) if (p.name === 'ModelRiverError') return true;
  return false;
}

/** Codes after which the client stops for good (no reconnection). */
export const TERMINAL_ERROR_CODES: ReadonlySet<string> = /* @__PURE__ */ new Set<ErrorCode>([
  // Literals rather than ErrorCode.x: property reads would keep ErrorCode in every bundle.
  'unauthorized',
  'not_found',
  'channel_expired',
  'invalid_channel_format',
  'join_failed',
  'token_unavailable',
  'connection_failed',
  'invalid_options',
  'destroyed',
]);

/**
 * Reports an exception thrown by user code (a listener or a callback) without
 * rethrowing it, the way browsers report an exception in an event listener:
 * the transport keeps running and the bug stays visible.
 *
 * @example
 * ```ts
 * try { listener(state); } catch (error) { reportListenerError(error); }
 * ```
 */
export function reportListenerError(error: unknown): void {
  try {
    console.error('[modelriver] a listener threw:', error);
  } catch {
    // No console (or a broken one): nothing left to do.
  }
}

/**
 * Calls `fn(arg)`, reporting instead of throwing what it throws: user callbacks
 * must never break the transport that calls them.
 *
 * @example
 * ```ts
 * safeCall(handlers.onOpen);
 * ```
 */
export function safeCall<A>(fn: ((arg: A) => void) | undefined, arg?: A): void {
  try {
    fn?.(arg as A);
  } catch (error) {
    reportListenerError(error);
  }
}
