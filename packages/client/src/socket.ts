/**
 * One WebSocket link to the gateway: URL, refs, framing and heartbeats. A link is
 * used once; reconnection (a new link) is the client's decision. Once a link is
 * closed, its WebSocket's handlers are neutralised so a late frame from it can
 * never reach the client.
 */
import { ModelRiverError, reportListenerError } from './errors.js';
import { PHOENIX_TOPIC, PROTOCOL_VSN, PhoenixEvent } from './protocol.js';
import type { Frame } from './protocol.js';
import { decodeFrame, encodeFrame } from './serializer.js';
import type { ProtocolErrorInfo, Timers, WebSocketConstructor, WebSocketLike } from './types.js';

/** Default heartbeat interval: 30 s. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** Close code the client uses when a heartbeat went unanswered (application range). */
export const HEARTBEAT_TIMEOUT_CLOSE_CODE = 4000;

/** Life of one link. `idle` before `connect()`; `closed` is final. */
export type LinkState = 'idle' | 'connecting' | 'open' | 'closed';

/** Why a link changed state. */
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
  /** The HTTP status of a refused upgrade, where the platform tells (Node's `ws` does, browsers do not). */
  httpStatus: number | null;
}

/** Callbacks of a {@link Socket}. Exceptions thrown by them are caught and reported. */
export interface SocketHandlers {
  onOpen?: () => void;
  onClose?: (info: LinkClose) => void;
  onFrame?: (frame: Frame) => void;
  onProtocolError?: (info: ProtocolErrorInfo) => void;
  onStateChange?: (transition: LinkTransition) => void;
}

/** Options of {@link Socket}. */
export interface SocketOptions {
  /** The `websocket_url`, e.g. `ws://127.0.0.1:4000/socket`. */
  url: string;
  token: string;
  WebSocket: WebSocketConstructor;
  timers: Timers;
  heartbeatIntervalMs?: number;
  maxFrameBytes: number;
  handlers: SocketHandlers;
}

/**
 * The connect URL: `{websocketUrl}/websocket?token=…&vsn=2.0.0`. A URL already
 * ending in `/websocket` is kept; one ending neither in `/socket` nor `/websocket`
 * gets `/socket/websocket` (as today's client did for a bare `baseUrl`).
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
 *   url: 'ws://127.0.0.1:4000/socket', token: wsToken, WebSocket: WS, timers, maxFrameBytes: 4 << 20,
 *   handlers: { onOpen: () => socket.send([socket.makeRef(), socket.makeRef(), topic, 'phx_join', {}]), onFrame: console.log },
 * });
 * socket.connect();
 * ```
 */
export class Socket {
  private readonly options: SocketOptions;
  private linkState: LinkState = 'idle';
  private ws: WebSocketLike | null = null;
  private ref = 0;
  private heartbeatTimer: unknown = null;
  private pendingHeartbeat: string | null = null;
  private opened = false;
  private lastError: string | null = null;

  constructor(options: SocketOptions) {
    this.options = options;
  }

  get state(): LinkState {
    return this.linkState;
  }

  /** Whether frames can be sent now. */
  get isOpen(): boolean {
    return this.linkState === 'open' && this.ws !== null && this.ws.readyState === OPEN;
  }

  /** A new ref, unique on this link. */
  makeRef(): string {
    this.ref += 1;
    return String(this.ref);
  }

  /**
   * Opens the link. Throws `ModelRiverError('invalid_options')` when the WebSocket
   * constructor refuses the URL (a malformed `websocketUrl`).
   */
  connect(): void {
    if (this.linkState !== 'idle') return;
    const url = socketUrl(this.options.url, this.options.token);
    let ws: WebSocketLike;
    try {
      ws = new this.options.WebSocket(url);
    } catch (error) {
      this.transition('closed', LinkReason.refused);
      throw new ModelRiverError('invalid_options', `cannot open a WebSocket to "${this.options.url}": ${errorMessage(error)}; pass a ws:// or wss:// websocketUrl`, { cause: error });
    }
    this.ws = ws;
    ws.onopen = () => this.handleOpen();
    ws.onmessage = (event) => this.handleMessage(event.data);
    ws.onerror = (event) => {
      this.lastError = errorMessage(event);
    };
    ws.onclose = (event) => this.handleClose(event);
    this.transition('connecting', LinkReason.connect);
  }

  /** Writes a frame. Returns false when the link is not open (nothing is sent). */
  send(frame: Frame): boolean {
    const ws = this.ws;
    if (this.linkState !== 'open' || ws === null || ws.readyState !== OPEN) return false;
    try {
      ws.send(encodeFrame(frame));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes the link cleanly. No `onClose` follows: the caller knows. */
  close(code = 1000, reason = 'client closed'): void {
    if (this.linkState === 'closed') return;
    this.teardown(code, reason);
    this.transition('closed', LinkReason.closedByClient);
  }

  private handleOpen(): void {
    this.opened = true;
    this.transition('open', LinkReason.open);
    this.scheduleHeartbeat();
    this.call(() => this.options.handlers.onOpen?.());
  }

  private handleMessage(data: unknown): void {
    if (this.linkState !== 'open') return;
    const decoded = decodeFrame(data, this.options.maxFrameBytes);
    if (!decoded.ok) {
      this.call(() => this.options.handlers.onProtocolError?.(decoded.info));
      return;
    }
    const frame = decoded.frame;
    if (frame[2] === PHOENIX_TOPIC) {
      // Socket-level traffic: only heartbeat replies are expected here.
      if (frame[3] === PhoenixEvent.reply && frame[1] !== null && frame[1] === this.pendingHeartbeat) {
        this.pendingHeartbeat = null;
      }
      return;
    }
    this.call(() => this.options.handlers.onFrame?.(frame));
  }

  private handleClose(event: { code: number; reason: string; wasClean?: boolean }): void {
    if (this.linkState === 'closed') return;
    const opened = this.opened;
    const code = typeof event?.code === 'number' ? event.code : 1006;
    const reason = typeof event?.reason === 'string' ? event.reason : '';
    const httpStatus = parseHttpStatus(this.lastError);
    // 1000/1001 with a close frame is an orderly close; 1006 and other failure codes are not.
    const clean = opened && event?.wasClean !== false && (code === 1000 || code === 1001);
    const cause = !opened ? LinkReason.refused : clean || (event?.wasClean === true && code !== 1006) ? LinkReason.closedByServer : LinkReason.lost;
    this.teardown(null, '');
    this.transition('closed', cause);
    this.call(() => this.options.handlers.onClose?.({ code, reason, clean, opened, cause, httpStatus }));
  }

  private scheduleHeartbeat(): void {
    const interval = this.options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    if (!(interval > 0) || !Number.isFinite(interval)) return;
    this.heartbeatTimer = this.options.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      if (this.linkState !== 'open') return;
      if (this.pendingHeartbeat !== null) {
        this.heartbeatTimeout();
        return;
      }
      const ref = this.makeRef();
      this.pendingHeartbeat = ref;
      this.send([null, ref, PHOENIX_TOPIC, PhoenixEvent.heartbeat, {}]);
      this.scheduleHeartbeat();
    }, interval);
  }

  private heartbeatTimeout(): void {
    const reason = 'heartbeat timeout';
    this.teardown(HEARTBEAT_TIMEOUT_CLOSE_CODE, reason);
    this.transition('closed', LinkReason.heartbeatTimeout);
    // A dead link may never complete the close handshake, so the close is reported now.
    this.call(() =>
      this.options.handlers.onClose?.({
        code: HEARTBEAT_TIMEOUT_CLOSE_CODE,
        reason,
        clean: false,
        opened: true,
        cause: LinkReason.heartbeatTimeout,
        httpStatus: null,
      }),
    );
  }

  /** Stops timers and detaches from the WebSocket; closes it when `code` is given. */
  private teardown(code: number | null, reason: string): void {
    if (this.heartbeatTimer !== null) this.options.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.pendingHeartbeat = null;
    const ws = this.ws;
    this.ws = null;
    if (ws === null) return;
    // No-op functions rather than null: Node's `ws` throws on an 'error' event without a listener.
    ws.onopen = noop;
    ws.onmessage = noop;
    ws.onerror = noop;
    ws.onclose = noop;
    if (code !== null) {
      try {
        ws.close(code, reason);
      } catch {
        // Already closing or closed.
      }
    }
  }

  private transition(next: LinkState, reason: LinkReason): void {
    const previous = this.linkState;
    if (previous === next) return;
    this.linkState = next;
    this.call(() => this.options.handlers.onStateChange?.({ previous, current: next, reason }));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      reportListenerError(error);
    }
  }
}

function errorMessage(value: unknown): string {
  if (value instanceof Error) return value.message;
  if (typeof value === 'object' && value !== null) {
    const message = (value as { message?: unknown }).message;
    if (typeof message === 'string') return message;
    const inner = (value as { error?: unknown }).error;
    if (inner instanceof Error) return inner.message;
  }
  return String(value);
}

/** `ws` reports a refused upgrade as "Unexpected server response: 403". */
function parseHttpStatus(message: string | null): number | null {
  if (message === null) return null;
  const match = /Unexpected server response: (\d{3})/.exec(message);
  return match ? Number(match[1]) : null;
}
