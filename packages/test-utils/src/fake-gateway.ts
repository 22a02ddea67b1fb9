/**
 * A gateway that speaks the channel contract on 127.0.0.1 (port 0) and gives
 * tests full control: they emit events, break links, refuse joins and read
 * back everything clients sent.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { ConnectOptions } from './wire-types.js';
import { FakeGatewayError } from './errors.js';
import { FakeChannel, type ChannelContext, type FakeTimers } from './fake-channel.js';
import { FakeConnection, type ConnectionHost } from './fake-connection.js';
import type { RecordedFrame } from './frames.js';
import { handleHttp, type HttpFailure, type HttpHost, type RecordedHttpRequest } from './http-routes.js';
import { TokenRegistry, type TokenKind, type TokenRefusal } from './token-registry.js';
import { isUuid } from './topic.js';

// Captured at load so a test's `vi.useFakeTimers()` does not freeze the fake's
// safety timeouts and pacing: the sockets on the other side are real.
const boundSetTimeout = globalThis.setTimeout.bind(globalThis);
const boundClearTimeout = globalThis.clearTimeout.bind(globalThis);
const realTimers: FakeTimers = {
  setTimeout: (fn, ms) => boundSetTimeout(fn, ms),
  clearTimeout: (handle) => boundClearTimeout(handle as ReturnType<typeof setTimeout>),
};

const DEFAULT_PROJECT_ID = '00000000-0000-4000-8000-00000000f00d';
const DEFAULT_WAIT_MS = 5_000;
const SOCKET_PATH = '/socket/websocket';

export interface FakeGatewayOptions {
  /** Default a fixed UUID (`00000000-0000-4000-8000-00000000f00d`). */
  projectId?: string;
  /** `ws_token` lifetime. Default 300 000. */
  tokenTtlMs?: number;
  /** `resume_token` lifetime. Default 600 000. */
  resumeTokenTtlMs?: number;
  /** Default true; false simulates a dead link (heartbeats go unanswered). */
  replyToHeartbeats?: boolean;
  /** Default true: consecutive `tokens` in a replay are merged into one frame with `first_seq`. */
  mergeReplayTokens?: boolean;
  /** Clock for token expiry and `at` stamps. Default `Date.now` (read at each call). */
  now?: () => number;
  /** Timers for `streamText` pacing and `waitFor…` timeouts. Default: the real ones, captured at import. */
  timers?: FakeTimers;
  /** Keep every text sent in `FakeConnection.sent`. Default true; benchmarks turn it off. */
  recordSent?: boolean;
  /**
   * Flush the frames sent to a socket within one tick together (cork/uncork), so
   * a synchronous burst costs one write instead of one per frame. Default false:
   * every frame is written at once. Benchmarks turn it on so the server is not
   * the bottleneck.
   */
  coalesceSends?: boolean;
}

/** One upgrade attempt on the HTTP server. */
export interface UpgradeRecord {
  token: string | null;
  accepted: boolean;
  at: number;
  /** 101 accepted, 403 bad token, 404 wrong path. */
  status: number;
  /** Which kind of token was presented, when the gateway knows it. */
  kind: TokenKind | null;
  /** Why it was refused. */
  reason: TokenRefusal | 'wrong_path' | null;
  /** The `vsn` query parameter as sent. */
  vsn: string | null;
  path: string;
}

/** Options of {@link FakeGateway.waitForFrame}. */
export interface WaitForFrameOptions {
  /** Default 5 000. */
  timeoutMs?: number;
  /** Index into `received` to search from; frames before it are ignored. Default 0. */
  since?: number;
}

interface FrameWaiter {
  predicate: (frame: RecordedFrame) => boolean;
  resolve: (frame: RecordedFrame) => void;
  reject: (error: Error) => void;
}

interface ConnectionWaiter {
  resolve: (connection: FakeConnection) => void;
  reject: (error: Error) => void;
}

/**
 * The fake gateway. Start one per test (or per file) and close it after.
 *
 * @example
 * const gw = await FakeGateway.start();
 * const ch = gw.createChannel();
 * const ws = new WebSocket(gw.socketUrl(ch.wsToken));
 * const conn = await gw.waitForConnection();
 * ws.send(JSON.stringify(['1', '1', ch.topic, 'phx_join', {}]));
 * await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join');
 * ch.tokens('Hi');
 * await gw.close();
 */
export class FakeGateway {
  readonly url: string;
  readonly httpUrl: string;
  readonly projectId: string;
  /** Answer heartbeats; set false at run time to simulate a dead link. */
  replyToHeartbeats: boolean;
  /** While set, every reconnect request fails with it (e.g. `{status: 500, code: 'internal'}`). */
  reconnectFailure: HttpFailure | null = null;
  /** Every frame any client sent, decoded, in order. */
  readonly received: RecordedFrame[] = [];
  /** Every upgrade attempt, in order. */
  readonly upgrades: UpgradeRecord[] = [];
  /** Every HTTP request served, in order. */
  readonly httpRequests: RecordedHttpRequest[] = [];
  /** Open connections. */
  readonly connections: FakeConnection[] = [];

  private readonly channels = new Map<string, FakeChannel>();
  private readonly byTopic = new Map<string, FakeChannel>();
  private readonly tokens: TokenRegistry;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly context: ChannelContext;
  private readonly host: ConnectionHost;
  private readonly now: () => number;
  private readonly timers: FakeTimers;
  private readonly frameWaiters = new Set<FrameWaiter>();
  private readonly connectionWaiters = new Set<ConnectionWaiter>();
  private nextConnectionId = 1;
  private closing: Promise<void> | null = null;

  /**
   * Starts a gateway on 127.0.0.1, port 0.
   *
   * @example
   * const gw = await FakeGateway.start({ replyToHeartbeats: false });
   */
  static async start(options: FakeGatewayOptions = {}): Promise<FakeGateway> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FakeGateway(server, options);
  }

  private constructor(
    private readonly server: Server,
    options: FakeGatewayOptions,
  ) {
    const { port } = server.address() as AddressInfo;
    this.url = `ws://127.0.0.1:${port}/socket`;
    this.httpUrl = `http://127.0.0.1:${port}`;
    this.projectId = options.projectId ?? DEFAULT_PROJECT_ID;
    this.replyToHeartbeats = options.replyToHeartbeats ?? true;
    this.now = options.now ?? (() => Date.now());
    this.timers = options.timers ?? realTimers;
    this.tokens = new TokenRegistry(this.now);
    this.context = {
      projectId: this.projectId,
      tokens: this.tokens,
      tokenTtlMs: options.tokenTtlMs ?? 300_000,
      resumeTokenTtlMs: options.resumeTokenTtlMs ?? 600_000,
      mergeReplayTokens: options.mergeReplayTokens ?? true,
      timers: this.timers,
    };
    const recordSent = options.recordSent ?? true;
    const coalesceSends = options.coalesceSends ?? false;
    const gateway = this;
    this.host = {
      get replyToHeartbeats() {
        return gateway.replyToHeartbeats;
      },
      recordSent,
      coalesceSends,
      now: this.now,
      channelByTopic: (topic) => this.byTopic.get(topic),
      record: (frame) => this.record(frame),
      closed: (connection) => {
        const i = this.connections.indexOf(connection);
        if (i >= 0) this.connections.splice(i, 1);
      },
    };
    const httpHost: HttpHost = {
      url: this.url,
      projectId: this.projectId,
      get reconnectFailure() {
        return gateway.reconnectFailure;
      },
      channel: (id) => this.channels.get(id),
      now: this.now,
      recordHttp: (request) => this.httpRequests.push(request),
    };
    server.on('request', (req, res) => void handleHttp(httpHost, req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    this.wss.on('error', () => undefined);
  }

  /**
   * Creates a channel (UUID id unless given) and issues its first `ws_token`.
   *
   * @example
   * const ch = gw.createChannel();
   * client.connect(gw.connectOptions(ch));
   */
  createChannel(options: { channelId?: string } = {}): FakeChannel {
    const channelId = options.channelId ?? randomUUID();
    if (!isUuid(channelId)) throw new FakeGatewayError('invalid_channel_id', `channelId must be a UUID, got "${channelId}"`);
    if (this.channels.has(channelId)) throw new FakeGatewayError('duplicate_channel', `Channel ${channelId} already exists`);
    const channel = new FakeChannel(channelId, this.context);
    this.channels.set(channelId, channel);
    this.byTopic.set(channel.topic, channel);
    return channel;
  }

  /**
   * The channel with this id, if any.
   *
   * @example
   * gw.channel(ack.channel_id)?.tokens('x');
   */
  channel(channelId: string): FakeChannel | undefined {
    return this.channels.get(channelId);
  }

  /**
   * The client's `connect()` options for a channel, as the async ack would give
   * them: its first `ws_token` unless another token is passed.
   *
   * @example
   * client.connect(gw.connectOptions(ch));
   */
  connectOptions(channel: FakeChannel, wsToken: string = channel.wsToken): ConnectOptions {
    return { channelId: channel.channelId, wsToken, websocketUrl: this.url, websocketChannel: channel.topic };
  }

  /**
   * The full connect URL for a token: `{url}/websocket?token=…&vsn=2.0.0`.
   *
   * @example
   * new WebSocket(gw.socketUrl(ch.wsToken));
   */
  socketUrl(token: string, vsn = '2.0.0'): string {
    return `${this.url}/websocket?token=${encodeURIComponent(token)}&vsn=${encodeURIComponent(vsn)}`;
  }

  /**
   * Resolves with the NEXT accepted connection (not one already open).
   *
   * @example
   * const next = gw.waitForConnection();
   * conn.drop();
   * const reconnected = await next;
   */
  waitForConnection(timeoutMs: number = DEFAULT_WAIT_MS): Promise<FakeConnection> {
    return this.wait<FakeConnection>(timeoutMs, 'a connection', (resolve, reject) => {
      const waiter: ConnectionWaiter = { resolve, reject };
      this.connectionWaiters.add(waiter);
      return () => this.connectionWaiters.delete(waiter);
    });
  }

  /**
   * Resolves with the first recorded frame (from index `since`, default 0) that
   * matches; at once if one is already recorded. The second argument is a
   * timeout in ms or `{timeoutMs, since}`.
   *
   * @example
   * const since = gw.received.length;
   * conn.drop();
   * const join = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join', { since });
   */
  waitForFrame(
    predicate: (frame: RecordedFrame) => boolean,
    timeoutOrOptions?: number | WaitForFrameOptions,
    since?: number,
  ): Promise<RecordedFrame> {
    const options = typeof timeoutOrOptions === 'object' ? timeoutOrOptions : { timeoutMs: timeoutOrOptions, since };
    for (let i = Math.max(0, options.since ?? 0); i < this.received.length; i += 1) {
      const frame = this.received[i];
      if (frame && predicate(frame)) return Promise.resolve(frame);
    }
    return this.wait<RecordedFrame>(options.timeoutMs ?? DEFAULT_WAIT_MS, 'a matching frame', (resolve, reject) => {
      const waiter: FrameWaiter = { predicate, resolve, reject };
      this.frameWaiters.add(waiter);
      return () => this.frameWaiters.delete(waiter);
    });
  }

  /**
   * Drops every open connection uncleanly (terminate, no close frame).
   *
   * @example
   * gw.dropAll();
   */
  dropAll(): void {
    for (const connection of [...this.connections]) connection.drop();
  }

  /**
   * Terminates every connection, stops the servers and rejects pending waits
   * with code `closed`. Idempotent.
   *
   * @example
   * afterEach(() => gw.close());
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const error = new FakeGatewayError('closed', 'The fake gateway was closed');
    for (const waiter of [...this.frameWaiters, ...this.connectionWaiters]) waiter.reject(error);
    for (const channel of this.channels.values()) channel.dispose();
    const closed = this.connections.map((c) => c.closedInfo);
    this.dropAll();
    await Promise.all(closed);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Registers a waiter that settles on its own, on timeout, or on close. */
  private wait<T>(
    timeoutMs: number,
    what: string,
    register: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void,
  ): Promise<T> {
    if (this.closing) return Promise.reject(new FakeGatewayError('closed', 'The fake gateway is closed'));
    return new Promise<T>((resolve, reject) => {
      let unregister = (): void => undefined;
      const timer = this.timers.setTimeout(() => {
        unregister();
        reject(new FakeGatewayError('timeout', `Waited ${timeoutMs} ms for ${what}`));
      }, timeoutMs);
      unregister = register(
        (value) => {
          this.timers.clearTimeout(timer);
          unregister();
          resolve(value);
        },
        (error) => {
          this.timers.clearTimeout(timer);
          unregister();
          reject(error);
        },
      );
    });
  }

  private record(frame: RecordedFrame): void {
    this.received.push(frame);
    for (const waiter of [...this.frameWaiters]) {
      // A throwing predicate fails its own wait, not the socket handler.
      try {
        if (waiter.predicate(frame)) waiter.resolve(frame);
      } catch (error) {
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client vanishing mid-handshake must not surface as an unhandled error.
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const token = url.searchParams.get('token');
    const base = { token, at: this.now(), vsn: url.searchParams.get('vsn'), path: url.pathname };
    if (this.closing) return refuse(socket, 503);
    if (url.pathname !== SOCKET_PATH) {
      this.upgrades.push({ ...base, accepted: false, status: 404, kind: null, reason: 'wrong_path' });
      return refuse(socket, 404);
    }
    const kind = this.tokens.kindOf(token);
    const result = this.tokens.consume(token);
    if (!result.ok) {
      this.upgrades.push({ ...base, accepted: false, status: 403, kind, reason: result.reason });
      return refuse(socket, 403);
    }
    this.upgrades.push({ ...base, accepted: true, status: 101, kind, reason: null });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new FakeConnection(this.nextConnectionId++, ws, socket, result.grant, this.host);
      this.connections.push(connection);
      for (const waiter of [...this.connectionWaiters]) waiter.resolve(connection);
    });
  }
}

const STATUS_TEXT: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };

function refuse(socket: Duplex, status: number): void {
  const body = JSON.stringify({ error: { code: status === 403 ? 'unauthorized' : 'not_found', message: STATUS_TEXT[status] } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
