/**
 * The reconnect loop: the links of one request, one after another. It owns the
 * socket, the token each link presents (and what a close means for it), the attempt
 * count (reset only after a link stayed up `minUptimeMs`) and the retry timer with
 * its backoff. It knows nothing of channels or state: it reports to its owner (the
 * session) through `LinkEvents`.
 *
 * Private members start with `_` so the published build can mangle them.
 */
import { backoffDelay } from './backoff.js';
import type { ResolvedOptions } from './client-options.js';
import { ModelRiverError, reportListenerError } from './errors.js';
import type { Frame } from './protocol.js';
import { Socket } from './socket.js';
import type { LinkClose } from './socket.js';
import { acquireToken, hasTokenSource, tokenRefused } from './token-source.js';
import type { LinkToken, TokenHost, TokenOutcome } from './token-source.js';
import type { ConnectingInfo, ProtocolErrorInfo } from './types.js';

/** The hosted service's socket URL, the hosted SDK's default `baseUrl`. */
export const DEFAULT_BASE_URL = 'wss://api.modelriver.com/socket';

/**
 * Reasons of connection state changes (`ConnectionTransition.reason`, and the
 * `reason` argument of the `disconnected` event). Failures use the error code
 * (`unauthorized`, `connection_failed`, …). The client's own code writes the values as
 * literals, so a bundle that does not import this object leaves it out.
 */
export const ConnectionReason = {
  /** `connect()`, `reconnect()` or `reconnectWithBackend()` started a request. */
  connect: 'connect',
  open: 'open',
  /** The link ended without a close handshake. */
  lost: 'lost',
  /** The server closed the link. */
  closedByServer: 'closed_by_server',
  /** The link closed before it opened (refused token, unreachable host). */
  refused: 'refused',
  heartbeatTimeout: 'heartbeat_timeout',
  /** Getting a token failed for a reason that may pass (network, 5xx); retried. */
  tokenError: 'token_error',
  /** `disconnect()`, `reset()` or `destroy()`. */
  manual: 'manual',
  /** The request ended (a terminal `response`); the link was closed on purpose. */
  completed: 'completed',
} as const;
export type ConnectionReason = (typeof ConnectionReason)[keyof typeof ConnectionReason];

/** What the loop needs from the client: options, environment, debug log. */
export interface LoopConfig extends TokenHost {
  readonly _cfg: ResolvedOptions;
}

/** What the loop reports to its owner. Each may end the request (a listener runs inside). */
export interface LinkEvents {
  /** The request this loop serves. */
  readonly _channelId: string;
  /** The request ended: the loop must not open another link. */
  _isOver(): boolean;
  /** A link is being set up: `info` when a socket is about to open, null while a token is fetched. */
  _linking(reconnecting: boolean, info: ConnectingInfo | null): void;
  _opened(socket: Socket): void;
  _frame(frame: Frame): void;
  _protocolError(info: ProtocolErrorInfo): void;
  /** The link is down (its token, if refused, already forgotten). */
  _down(): void;
  /** The token or URL changed hands: the resume record must say so now (`true`). */
  _keep(now: boolean): void;
  /** No link until `_retryNow`: `stopped` (retries are off), else a retry waits out its backoff. */
  _waiting(reason: string, stopped: boolean): void;
  /** Retrying cannot or may not go on. `permanent`: the channel is gone. */
  _fail(code: string, message: string, permanent: boolean): void;
}

/**
 * One request's links, reconnected with backoff.
 *
 * @example
 * ```ts
 * const loop = new ReconnectLoop(config, session, { _value: ack.ws_token, _via: 'ws_token' }, ack.websocket_url);
 * loop._open();
 * // later: loop._close('request finished');
 * ```
 */
export class ReconnectLoop {
  /** The token the next link presents; null once an opened link consumed it. Read for the resume record. */
  declare _token: LinkToken | null;
  /** The `websocket_url` as given (persisted as given, so a reload resolves defaults the same way). */
  declare _url: string | undefined;
  declare private _config: LoopConfig;
  declare private _events: LinkEvents;
  declare private _socket: Socket | null;
  /** Consecutive failed links (reset after `minUptimeMs` up). */
  declare private _attempts: number;
  declare private _retryTimer: unknown;
  declare private _openedAt: number | null;
  declare private _everOpened: boolean;
  declare private _fetching: boolean;

  constructor(config: LoopConfig, events: LinkEvents, token: LinkToken | null, url: string | undefined) {
    this._config = config;
    this._events = events;
    this._token = token;
    this._url = url;
    this._socket = this._retryTimer = this._openedAt = null;
    this._attempts = 0;
    this._everOpened = this._fetching = false;
  }

  /** A socket exists (connecting or open). */
  _hasLink(): boolean {
    return this._socket !== null;
  }

  /** The next link presents `token` (a join's resume token). */
  _useToken(token: LinkToken): void {
    this._token = token;
  }

  /** Opens a link now, cancelling a retry that waits: with `token` (undefined: the one at hand), and `url` when given. */
  _retryNow(token?: LinkToken | null, url?: string): void {
    this._clearRetry();
    if (token !== undefined) this._token = token;
    if (url !== undefined) this._url = url;
    this._open();
  }

  /** Ends the loop: no retry, the socket closed saying `why`. */
  _close(why: string): void {
    this._clearRetry();
    const socket = this._socket;
    this._socket = null;
    socket?.close(1000, why);
  }

  /** Opens a link unless one is up or the request is over; without a token at hand, gets one first. */
  _open(): void {
    const events = this._events;
    if (events._isOver() || this._socket !== null) return;
    const token = this._token;
    if (token === null) {
      // Never an unhandled rejection: that would crash a Node process.
      this._fetchAndOpen().catch(reportListenerError);
      return;
    }
    events._linking(this._everOpened, { attempt: this._attempts, via: token._via });
    // A `connecting` listener may have ended or replaced the request.
    if (events._isOver()) return;
    const config = this._config;
    const env = config._env;
    const socket: Socket = new Socket({
      _url: this._url ?? config._o.baseUrl ?? DEFAULT_BASE_URL,
      _token: token._value,
      WebSocket: env._resolveWebSocket(),
      timers: env.timers,
      _heartbeatIntervalMs: config._cfg._heartbeatMs,
      maxFrameBytes: config._cfg._maxFrameBytes,
      _handlers: {
        _onOpen: () => {
          if (this._socket !== socket) return;
          // The token is spent the moment the upgrade is accepted.
          this._token = null;
          this._everOpened = true;
          this._openedAt = env.now();
          events._opened(socket);
        },
        _onFrame: (frame) => {
          if (this._socket === socket) events._frame(frame);
        },
        _onProtocolError: (info) => {
          if (this._socket === socket) events._protocolError(info);
        },
        _onClose: (info) => {
          if (this._socket === socket) this._closed(info);
        },
      },
    });
    this._socket = socket;
    try {
      socket.connect();
    } catch (error) {
      this._socket = null;
      events._fail('invalid_options', (error as Error).message, false);
    }
  }

  private _closed(info: LinkClose): void {
    const events = this._events;
    const config = this._config;
    this._socket = null;
    const policy = config._cfg._reconnect;
    if (this._openedAt !== null && policy !== false && config._env.now() - this._openedAt >= policy.minUptimeMs) this._attempts = 0;
    this._openedAt = null;
    const presented = this._token;
    if (!info.opened && presented !== null && tokenRefused(config, info._httpStatus, presented)) this._token = null;
    events._down();
    if (
      policy === false &&
      presented !== null &&
      this._token === null &&
      !info.opened &&
      hasTokenSource(config) &&
      (presented._via === 'ws_token' || presented._via === 'resume_token')
    ) {
      // Not a reconnection but the same attempt: the stored token was refused, so ask for a fresh one
      // once (a fresh token that is refused too stops here, so this cannot loop).
      this._fetchAndOpen().catch(reportListenerError);
      return;
    }
    this._retryLater(info.cause);
  }

  /** After a link or a token failed: wait out the backoff, or stop for `_retryNow` when retries are off or used up. */
  private _retryLater(reason: string): void {
    const events = this._events;
    const policy = this._config._cfg._reconnect;
    if (events._isOver()) return;
    if (policy === false) return events._waiting(reason, true);
    const attempts = ++this._attempts;
    events._waiting(reason, false);
    if (attempts > policy.maxAttempts) {
      return events._fail('connection_failed', `gave up after ${policy.maxAttempts} reconnects (${reason})`, false);
    }
    if (events._isOver()) return;
    const delay = backoffDelay(attempts - 1, policy, this._config._env.random);
    this._config._log(`retry in ${delay} ms (${reason})`);
    this._clearRetry();
    this._retryTimer = this._config._env.timers.setTimeout(() => {
      this._retryTimer = null;
      try {
        this._open();
      } catch (error) {
        reportListenerError(error);
      }
    }, delay);
  }

  private _clearRetry(): void {
    if (this._retryTimer !== null) this._config._env.timers.clearTimeout(this._retryTimer);
    this._retryTimer = null;
  }

  /** Gets a fresh token, then opens the link with it; a failure that may pass is retried like a lost link. */
  private async _fetchAndOpen(): Promise<void> {
    if (this._fetching) return;
    const events = this._events;
    this._fetching = true;
    events._linking(this._everOpened, null);
    let outcome: TokenOutcome;
    try {
      outcome = await acquireToken(this._config, events._channelId);
    } finally {
      this._fetching = false;
    }
    if (events._isOver()) return;
    // The backend says the channel is gone (a restarted gateway, an expired request): nothing to retry.
    if (outcome instanceof ModelRiverError) events._fail(outcome.code, outcome.message, true);
    else if (outcome) {
      this._token = outcome._token;
      if (outcome._url !== undefined) this._url = outcome._url;
      events._keep(true);
      this._open();
    } else if (outcome === undefined) this._retryLater('token_error');
    else {
      events._fail(
        'token_unavailable',
        `no token to reconnect with: ${hasTokenSource(this._config) ? 'getToken and the backend gave none' : 'pass getToken or apiBaseUrl'}`,
        false,
      );
    }
  }
}
