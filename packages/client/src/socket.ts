/**
 * One WebSocket link to the gateway: URL, refs, framing and heartbeats. A link is
 * used once; reconnection (a new link) is the client's decision. Once a link is
 * closed, its WebSocket's handlers are neutralised so a late frame from it can
 * never reach the client.
 */
import { ModelRiverError, reportListenerError, safeCall } from './errors.js';
import { PHOENIX_TOPIC, PROTOCOL_VSN } from './protocol.js';
import type { Frame } from './protocol.js';
import { readFrame } from './serializer.js';
import type { ProtocolErrorInfo, Timers, WebSocketConstructor, WebSocketLike } from './types.js';

/** Default heartbeat interval: 30 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** Close code the client uses when a heartbeat went unanswered (application range). */
export const HEARTBEAT_TIMEOUT_CLOSE_CODE = 4000;

/** Life of one link. `idle` before `connect()`; `closed` is final. */
export type LinkState = 'idle' | 'connecting' | 'open' | 'closed';

/** Why a link changed state. The code passes the values as literals (checked against this type), so the object stays out of bundles. */
export const LinkReason = {
  connect: 'connect',
  open: 'open',
  /** The peer closed with a close frame. */
  closedByServer: 'closed_by_server',
  /** The link ended without a close handshake (network loss, server crash). */
  lost: 'lost',
  /** The link closed before it opened (refused upgrade, unreachable host). */
  refused: 'refused',
  heartbeatTimeout: 'heartbeat_timeout',
  closedByClient: 'closed_by_client',
} as const;
export type LinkReason = (typeof LinkReason)[keyof typeof LinkReason];

/** `{previous, current, reason}` of a link state change. */
export interface LinkTransition {
  previous: LinkState;
  current: LinkState;
  reason: LinkReason;
}

/** How a link ended, when the client did not close it itself. */
export interface LinkClose {
  code: number;
  reason: string;
  /** A close handshake took place and the close was not a failure. */
  clean: boolean;
  /** The link had opened (its token was consumed). */
  opened: boolean;
  cause: LinkReason;
  /**
   * The HTTP status of a refused upgrade, where the platform tells (Node's `ws` does, browsers do
   * not): 0 when it says no HTTP answer came at all (connection refused, reset or timed out, as
   * XHR's status 0), null when it does not tell.
   */
  _httpStatus: number | null;
}

/** Callbacks of a {@link Socket}. Exceptions thrown by them are caught and reported. */
export interface SocketHandlers {
  _onOpen?: () => void;
  _onClose?: (info: LinkClose) => void;
  _onFrame?: (frame: Frame) => void;
  _onProtocolError?: (info: ProtocolErrorInfo) => void;
  _onStateChange?: (transition: LinkTransition) => void;
}

/** Options of {@link Socket}. */
export interface SocketOptions {
  /** The `websocket_url`, e.g. `ws://127.0.0.1:4000/socket`. */
  _url: string;
  _token: string;
  WebSocket: WebSocketConstructor;
  timers: Timers;
  _heartbeatIntervalMs?: number;
  maxFrameBytes: number;
  _handlers: SocketHandlers;
}

/**
 * The connect URL: `{websocketUrl}/websocket?token=…&vsn=2.0.0`. A URL already
 * ending in `/websocket` is kept; one ending neither in `/socket` nor `/websocket`
 * gets `/socket/websocket` (as the hosted SDK did for a bare `baseUrl`).
 *
 * @example
 * ```ts
 * socketUrl('ws://127.0.0.1:4000/socket', 't0k');
 * // 'ws://127.0.0.1:4000/socket/websocket?token=t0k&vsn=2.0.0'
 * ```
 */
export function socketUrl(websocketUrl: string, token: string): string {
  const queryAt = websocketUrl.indexOf('?');
  const base = queryAt === -1 ? websocketUrl : websocketUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : websocketUrl.slice(queryAt + 1);
  let path = base.replace(/\/+$/, '');
  if (!path.endsWith('/websocket')) path += path.endsWith('/socket') ? '/websocket' : '/socket/websocket';
  const params = `token=${encodeURIComponent(token)}&vsn=${PROTOCOL_VSN}`;
  return `${path}?${query === '' ? params : `${query}&${params}`}`;
}

/**
 * The hosted SDK's name for {@link socketUrl}: the URL the client connects to for `baseUrl` (a
 * `websocket_url` such as `wss://api.modelriver.com/socket`) and `token`, with `vsn=2.0.0`; the
 * token is URL-encoded. `…/socket` gets `/websocket`, a URL already ending in `/websocket` is kept,
 * and a bare host gets `/socket/websocket` (where the hosted SDK's helper appended `/websocket`
 * only, its client connected to `/socket/websocket` too).
 *
 * @example
 * ```ts
 * buildWebSocketUrl('wss://api.modelriver.com/socket', 't0k');
 * // 'wss://api.modelriver.com/socket/websocket?token=t0k&vsn=2.0.0'
 * ```
 */
export function buildWebSocketUrl(baseUrl: string, token: string): string {
  return socketUrl(baseUrl, token);
}

const OPEN = 1;
const noop = (): void => {};

/**
 * One WebSocket link speaking Phoenix v2 framing, with heartbeats on the
 * `phoenix` topic: when a heartbeat is still unanswered as the next one falls due,
 * the link is closed with code 4000 and reported as an unclean `heartbeat_timeout`.
 *
 * @example
 * ```ts
 * const socket = new Socket({
 *   _url: 'ws://127.0.0.1:4000/socket', _token: wsToken, WebSocket: WS, timers, maxFrameBytes: 4 << 20,
 *   _handlers: { _onOpen: () => socket.send([socket._makeRef(), socket._makeRef(), topic, 'phx_join', {}]), _onFrame: console.log },
 * });
 * socket.connect();
 * ```
 */
export class Socket {
  // Private members start with `_` so the published build can mangle them;
  // `declare` keeps ES2020 output free of class-field helpers.
  declare private _o: SocketOptions;
  declare private _state: LinkState;
  declare private _ws: WebSocketLike | null;
  declare private _ref: number;
  declare private _hbTimer: unknown;
  /** The ref of the heartbeat awaiting its reply. */
  declare private _hb: string | null;
  declare private _opened: boolean;
  /** The WebSocket's last `error` event, read for the HTTP status of a refused upgrade. */
  declare private _err: { message?: unknown; error?: { message?: unknown } } | null;

  constructor(options: SocketOptions) {
    this._o = options;
    this._state = 'idle';
    this._ws = this._hbTimer = this._hb = this._err = null;
    this._ref = 0;
    this._opened = false;
  }

  get state(): LinkState {
    return this._state;
  }

  /** Whether frames can be sent now. */
  get _isOpen(): boolean {
    return this._state === 'open' && this._ws?.readyState === OPEN;
  }

  /** A new ref, unique on this link. */
  _makeRef(): string {
    return String(++this._ref);
  }

  /**
   * Opens the link. Throws `ModelRiverError('invalid_options')` when the WebSocket
   * constructor refuses the URL (a malformed `websocketUrl`).
   */
  connect(): void {
    if (this._state !== 'idle') return;
    const o = this._o;
    let ws: WebSocketLike;
    try {
      ws = new o.WebSocket(socketUrl(o._url, o._token));
    } catch (error) {
      this._to('closed', 'refused');
      throw new ModelRiverError('invalid_options', `bad websocketUrl "${o._url}": pass ws:// or wss://`, { cause: error });
    }
    this._ws = ws;
    ws.onopen = () => {
      this._opened = true;
      this._to('open', 'open');
      this._beat();
      safeCall(o._handlers._onOpen);
    };
    const node = ws as WebSocketLike & { on?: (event: 'message', fn: (data: unknown, isBinary: boolean) => void) => void; binaryType?: string };
    // Node's `ws`: its own 'message' event skips the MessageEvent that `onmessage` wraps every
    // frame in. After teardown the listener stays but `_message` ignores a closed link.
    // (`data.toString()`, not `String(data)`: the generic conversion costs about 90 ns more per frame.)
    if (typeof node.on === 'function' && node.binaryType === 'nodebuffer') {
      node.on('message', (data, isBinary) => this._message(isBinary ? data : (data as { toString(): string }).toString()));
    } else ws.onmessage = (event) => this._message(event.data);
    ws.onerror = (event) => {
      this._err = event as Socket['_err'];
    };
    ws.onclose = (event) => this._closed(event);
    this._to('connecting', 'connect');
  }

  /** Writes a frame. Returns false when the link is not open (nothing is sent). */
  send(frame: Frame): boolean {
    if (!this._isOpen) return false;
    try {
      (this._ws as WebSocketLike).send(JSON.stringify(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the link cleanly. No `_onClose` follows: the caller knows. */
  close(code = 1000, reason = 'client closed'): void {
    if (this._state === 'closed') return;
    this._teardown(code, reason);
    this._to('closed', 'closed_by_client');
  }

  /** The per-frame hot path: one decode, then a direct call (no closure, one try/catch). */
  private _message(data: unknown): void {
    if (this._state !== 'open') return;
    const h = this._o._handlers;
    const frame = readFrame(data, this._o.maxFrameBytes);
    try {
      if (!Array.isArray(frame)) h._onProtocolError?.(frame);
      else if (frame[2] !== PHOENIX_TOPIC) h._onFrame?.(frame);
      // Socket-level traffic: only heartbeat replies are expected here.
      else if (frame[3] === 'phx_reply' && frame[1] !== null && frame[1] === this._hb) this._hb = null;
    } catch (error) {
      reportListenerError(error);
    }
  }

  private _closed(event: { code: number; reason: string; wasClean?: boolean }): void {
    if (this._state === 'closed') return;
    const opened = this._opened;
    const code = typeof event?.code === 'number' ? event.code : 1006;
    const reason = typeof event?.reason === 'string' ? event.reason : '';
    const err = this._err;
    // `ws` reports a refused upgrade as "Unexpected server response: 403"; browsers do not tell.
    const status = /Unexpected server response: (\d{3})/.exec(String(err?.message ?? err?.error?.message));
    // 1000/1001 with a close frame is an orderly close; 1006 and other failure codes are not.
    const clean = opened && event?.wasClean !== false && (code === 1000 || code === 1001);
    const cause = !opened
      ? 'refused'
      : clean || (event?.wasClean === true && code !== 1006)
        ? 'closed_by_server'
        : 'lost';
    this._teardown(null, '');
    this._to('closed', cause);
    const message = err?.message ?? err?.error?.message;
    // A failure `ws` explains without a status got no HTTP answer: 0, as XHR reports a network error.
    const httpStatus = status ? Number(status[1]) : !opened && typeof message === 'string' ? 0 : null;
    safeCall(this._o._handlers._onClose, { code, reason, clean, opened, cause, _httpStatus: httpStatus });
  }

  private _beat(): void {
    const interval = this._o._heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!(interval > 0 && interval < Infinity)) return;
    this._hbTimer = this._o.timers.setTimeout(() => {
      this._hbTimer = null;
      if (this._state !== 'open') return;
      if (this._hb === null) {
        this._hb = this._makeRef();
        this.send([null, this._hb, PHOENIX_TOPIC, 'heartbeat', {}]);
        this._beat();
        return;
      }
      const reason = 'heartbeat timeout';
      this._teardown(HEARTBEAT_TIMEOUT_CLOSE_CODE, reason);
      this._to('closed', 'heartbeat_timeout');
      // A dead link may never complete the close handshake, so the close is reported now.
      safeCall(this._o._handlers._onClose, {
        code: HEARTBEAT_TIMEOUT_CLOSE_CODE,
        reason,
        clean: false,
        opened: true,
        cause: 'heartbeat_timeout',
        _httpStatus: null,
      });
    }, interval);
  }

  /** Stops timers and detaches from the WebSocket; closes it when `code` is given. */
  private _teardown(code: number | null, reason: string): void {
    if (this._hbTimer !== null) this._o.timers.clearTimeout(this._hbTimer);
    this._hbTimer = this._hb = null;
    const ws = this._ws;
    this._ws = null;
    if (ws === null) return;
    // No-op functions rather than null: Node's `ws` throws on an 'error' event without a listener.
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = noop;
    if (code !== null) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closing or closed.
      }
    }
  }

  private _to(next: LinkState, reason: LinkReason): void {
    const previous = this._state;
    if (previous === next) return;
    this._state = next;
    safeCall(this._o._handlers._onStateChange, { previous, current: next, reason });
  }
}
