/**
 * The CLI's side of the gateway's listener topic: one WebSocket authenticated with the API key
 * (in a header, never in the URL), joined to `webhooks:self`, heartbeats, and reconnection with
 * backoff after a drop or a sleep. It owns its socket and its timers; what to do with a delivery
 * is the caller's ({@link ListenerHooks.onDelivery}), and its answer is reported back.
 */
import { WebSocket } from 'ws';
import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { readPushedDelivery, type ForwardResult, type PushedDelivery } from './forward.js';

/** The topic whose project is the API key's own. */
export const LISTENER_TOPIC = 'webhooks:self';

/** The part of a `ws` WebSocket the listener uses. */
export type ListenerSocket = Pick<WebSocket, 'readyState' | 'send' | 'close' | 'terminate' | 'on'>;

/** Opens a socket with headers; injected so tests can observe or replace the transport. */
export type SocketFactory = (url: string, headers: Record<string, string>) => ListenerSocket;

/** The timers the heartbeat and the reconnect delay run on. */
export interface ListenerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What the listener tells its owner. */
export interface ListenerHooks {
  /** Joined (first time or after a reconnect). */
  onReady(info: { projectId: string; reconnected: boolean }): void;
  /** A delivery attempt arrived; the returned result is reported to the gateway. */
  onDelivery(delivery: PushedDelivery): Promise<ForwardResult>;
  /** The link dropped; the next attempt starts after `delayMs`. */
  onDrop(info: { reason: string; delayMs: number }): void;
  /** A failure retrying cannot fix (wrong key, unreachable before ever connecting): the listener has stopped. */
  onFatal(error: CliError): void;
}

/** Options of {@link WebhookListener}. */
export interface WebhookListenerOptions {
  /** `http(s)://host:port` of the gateway's API; the socket is `{ws(s)}://host:port/socket/websocket`. */
  baseUrl: string;
  apiKey: string;
  hooks: ListenerHooks;
  createSocket?: SocketFactory;
  timers?: ListenerTimers;
  /** For the reconnect jitter. Default Math.random. */
  random?: () => number;
  /** Default 30 s; the gateway closes sockets silent for 60 s. */
  heartbeatMs?: number;
  /** Longest reconnect delay. Default 30 s. */
  maxDelayMs?: number;
}

const OPEN = 1;
const BASE_DELAY_MS = 500;

const defaultSocket: SocketFactory = (url, headers) =>
  // Deliveries can be large (a long response): accept what the gateway sends.
  new WebSocket(url, { headers, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });

const defaultTimers: ListenerTimers = {
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/**
 * Listens for the project's webhook deliveries until {@link stop}.
 *
 * @example
 * ```ts
 * const listener = new WebhookListener({ baseUrl, apiKey, hooks: {
 *   onReady: () => console.log('ready'),
 *   onDelivery: (d) => forwardDelivery(fetch, 'http://localhost:4000/webhook', d),
 *   onDrop: ({ delayMs }) => console.log(`reconnecting in ${delayMs} ms`),
 *   onFatal: (err) => console.error(err.message),
 * } });
 * listener.start();
 * ```
 */
export class WebhookListener {
  private readonly url: string;
  private readonly createSocket: SocketFactory;
  private readonly timers: ListenerTimers;
  private readonly random: () => number;
  private readonly heartbeatMs: number;
  private readonly maxDelayMs: number;
  private socket: ListenerSocket | null = null;
  private reconnectTimer: unknown = null;
  private heartbeatTimer: unknown = null;
  private pendingHeartbeat: string | null = null;
  private ref = 0;
  private joinRef: string | null = null;
  private everJoined = false;
  private failures = 0;
  private stopped = false;
  /** Deliveries being forwarded, whose reports are still to be sent. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: WebhookListenerOptions) {
    const base = new URL(options.baseUrl);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = `${base.pathname.replace(/\/+$/, '')}/socket/websocket`;
    base.search = 'vsn=2.0.0';
    this.url = base.toString();
    this.createSocket = options.createSocket ?? defaultSocket;
    this.timers = options.timers ?? defaultTimers;
    this.random = options.random ?? Math.random;
    this.heartbeatMs = options.heartbeatMs ?? 30_000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  /** Opens the socket (once; later drops reconnect by themselves). */
  start(): void {
    if (this.socket === null && this.reconnectTimer === null && !this.stopped) this.connect();
  }

  /**
   * Stops: no reconnect, no new deliveries; the ones being forwarded still report their status
   * (bounded by their timeout) so a delivery the local target already took is not sent again;
   * then the socket closes.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await Promise.all([...this.inFlight]);
    this.close();
  }

  private close(): void {
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null && socket.readyState === OPEN) socket.close(1000, 'listener stopped');
    else socket?.terminate();
  }

  private connect(): void {
    this.reconnectTimer = null;
    let socket: ListenerSocket;
    try {
      socket = this.createSocket(this.url, { authorization: `Bearer ${this.options.apiKey}` });
    } catch (err) {
      this.fatal(new CliError('invalid_url', `cannot open ${this.url}: ${err instanceof Error ? err.message : String(err)}`, ExitCode.usage));
      return;
    }
    this.socket = socket;
    let refusedStatus: number | null = null;
    socket.on('unexpected-response', (_req, res) => {
      refusedStatus = res.statusCode ?? 0;
      res.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      if (this.socket !== socket) return;
      this.joinRef = this.nextRef();
      this.send(socket, [this.joinRef, this.joinRef, LISTENER_TOPIC, 'phx_join', {}]);
      this.armHeartbeat(socket);
    });
    socket.on('message', (data) => {
      if (this.socket === socket) this.receive(socket, String(data));
    });
    let lastError = '';
    socket.on('error', (err) => {
      lastError = (err as { code?: string }).code ?? err.message;
    });
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (this.stopped) return;
      if (refusedStatus === 401) {
        this.fatal(new CliError('unauthorized', `the gateway at ${this.options.baseUrl} refused the API key: check --api-key / MODELRIVER_API_KEY`, ExitCode.unauthorized));
        return;
      }
      if (refusedStatus === 403 || refusedStatus === 404) {
        this.fatal(
          new CliError(
            'listener_unsupported',
            `the gateway at ${this.options.baseUrl} does not accept CLI listeners (WebSocket upgrade answered ${refusedStatus}): it must speak the listener extension of docs/protocol.md`,
            ExitCode.failed,
          ),
        );
        return;
      }
      if (!this.everJoined) {
        const why = refusedStatus !== null ? `HTTP ${refusedStatus}` : lastError || `closed with ${code}`;
        this.fatal(
          new CliError(
            'gateway_unreachable',
            `cannot reach the gateway at ${this.options.baseUrl} (${why}): start it (npm run gateway) or set --base-url / MODELRIVER_BASE_URL`,
            ExitCode.unreachable,
          ),
        );
        return;
      }
      this.scheduleReconnect(refusedStatus !== null ? `HTTP ${refusedStatus}` : lastError || `closed with ${code}`);
    });
  }

  private receive(socket: ListenerSocket, text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return; // Not a frame: nothing in it can be trusted, the stream after it is sound.
    }
    if (!Array.isArray(frame) || frame.length !== 5) return;
    const [, ref, topic, event, payload] = frame as [unknown, unknown, unknown, unknown, unknown];
    if (event === 'phx_reply') {
      if (ref === this.pendingHeartbeat) this.pendingHeartbeat = null;
      else if (ref === this.joinRef && topic === LISTENER_TOPIC) this.joined(socket, payload);
      return;
    }
    if (event === 'webhook' && topic === LISTENER_TOPIC) {
      const delivery = readPushedDelivery(payload);
      if (delivery === null || this.stopped) return;
      const handling = this.handle(socket, delivery).finally(() => this.inFlight.delete(handling));
      this.inFlight.add(handling);
    }
  }

  private joined(socket: ListenerSocket, payload: unknown): void {
    const reply = (payload ?? {}) as { status?: string; response?: { project_id?: string; reason?: string } };
    if (reply.status !== 'ok') {
      const reason = reply.response?.reason ?? 'unknown';
      if (reason === 'unauthorized') {
        this.fatal(new CliError('unauthorized', `the gateway refused the listener join (${reason}): check --api-key / MODELRIVER_API_KEY`, ExitCode.unauthorized));
        return;
      }
      // Transient (rate_limited) or unknown: drop and come back after a backoff.
      socket.terminate();
      return;
    }
    const reconnected = this.everJoined;
    this.everJoined = true;
    this.failures = 0;
    this.options.hooks.onReady({ projectId: reply.response?.project_id ?? '', reconnected });
  }

  private async handle(socket: ListenerSocket, delivery: PushedDelivery): Promise<void> {
    let result: ForwardResult;
    try {
      result = await this.options.hooks.onDelivery(delivery);
    } catch (err) {
      result = { error: err instanceof Error ? err.message : String(err) };
    }
    // A report on a socket that has since dropped is lost; the gateway already failed that attempt.
    if (this.socket !== socket || socket.readyState !== OPEN) return;
    this.send(socket, [this.joinRef, this.nextRef(), LISTENER_TOPIC, 'webhook_result', { attempt_id: delivery.attempt_id, ...result }]);
  }

  private armHeartbeat(socket: ListenerSocket): void {
    this.heartbeatTimer = this.timers.setTimeout(() => {
      this.heartbeatTimer = null;
      if (this.socket !== socket) return;
      // The previous one is still unanswered: the link is dead (a sleep, a cut cable).
      if (this.pendingHeartbeat !== null) {
        socket.terminate();
        return;
      }
      this.pendingHeartbeat = this.nextRef();
      this.send(socket, [null, this.pendingHeartbeat, 'phoenix', 'heartbeat', {}]);
      this.armHeartbeat(socket);
    }, this.heartbeatMs);
  }

  private scheduleReconnect(reason: string): void {
    const ceiling = Math.min(this.maxDelayMs, BASE_DELAY_MS * 2 ** this.failures);
    this.failures++;
    const delayMs = Math.round(this.random() * ceiling);
    this.options.hooks.onDrop({ reason, delayMs });
    this.reconnectTimer = this.timers.setTimeout(() => this.connect(), delayMs);
  }

  private fatal(error: CliError): void {
    this.stopped = true;
    this.close();
    this.options.hooks.onFatal(error);
  }

  private clearTimers(): void {
    if (this.heartbeatTimer !== null) this.timers.clearTimeout(this.heartbeatTimer);
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    this.heartbeatTimer = null;
    this.reconnectTimer = null;
    this.pendingHeartbeat = null;
  }

  private send(socket: ListenerSocket, frame: unknown[]): void {
    if (socket.readyState === OPEN) socket.send(JSON.stringify(frame));
  }

  private nextRef(): string {
    this.ref += 1;
    return String(this.ref);
  }
}
