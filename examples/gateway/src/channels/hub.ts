import { STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Frame, JoinErrorReason } from '@modelriver/client';
import type { Channel } from './channel.js';
import { ChannelStore } from './channel-store.js';
import { Connection, type DeliveryLimits } from './connection.js';

/** A socket of this hub: it delivers from the hub's channels. */
type HubConnection = Connection<Channel>;
import { LISTENER_TOPIC_PREFIX, listenerTopic, type ListenerRegistry } from './listeners.js';
import { ChannelHubError } from './errors.js';
import { DEFAULT_MAX_FRAME_BYTES, decodeClientFrame, replyFrame } from './frames.js';
import { DEFAULT_MAX_TOKENS_PER_TOPIC, localTokens, TokenStore, type ConnectTokens } from './tokens.js';
import { isUuid, parseTopic } from './topic.js';
import type { ChannelHandle, ChannelHooks, ChannelHub, ChannelHubOptions, ChannelHubStats, IntervalTimers } from './types.js';

/** The one path upgrades are served on (`{websocket_url}/websocket`). */
export const SOCKET_PATH = '/socket/websocket';

/**
 * Close code for a socket that stayed over the hard cap for the grace period. Like HTTP 408, it
 * tells the client it was too slow, not that it did something wrong: it reconnects and rejoins
 * with its `last_seq`, and the replay gives it the rest.
 */
export const SLOW_CONSUMER_CLOSE_CODE = 4408;

/**
 * Join refusal reason for a socket over its join rate. Unlike the other reasons it is transient:
 * the socket stays open and a join after a backoff succeeds (clients retry unknown reasons).
 */
export const JOIN_RATE_LIMITED = 'rate_limited';

/**
 * Join refusal reason while the shared store cannot be reached. Transient too: clients retry
 * unknown reasons with a backoff, and the store is usually back within seconds.
 */
export const JOIN_STORE_UNAVAILABLE = 'store_unavailable';

/** Frames a socket may send while its previous one waits on the store; more are dropped. */
const MAX_QUEUED_FRAMES = 64;

const DEFAULTS = {
  tokenTtlMs: 5 * 60_000,
  resumeTokenTtlMs: 10 * 60_000,
  retentionMs: 10 * 60_000,
  highWaterMark: 64 * 1024,
  hardCap: 4 * 1024 * 1024,
  hardCapGraceMs: 5_000,
  idleTimeoutMs: 60_000,
  sweepIntervalMs: 1_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
  maxMessageBytes: 1024 * 1024,
  maxMergedChars: 16_384,
  joinBurst: 10,
  joinsPerSecond: 1,
  maxTokensPerChannel: DEFAULT_MAX_TOKENS_PER_TOPIC,
} as const;

/**
 * The process's interval timer, looked up at call time (so `vi.useFakeTimers()` applies) and
 * unref'd: the sweep never keeps a process alive on its own.
 */
const systemIntervals: IntervalTimers = {
  setInterval(callback, ms) {
    const handle = globalThis.setInterval(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearInterval(handle) {
    globalThis.clearInterval(handle as ReturnType<typeof globalThis.setInterval>);
  },
};

/** Unused tokens are forgotten this often (their expiry is checked on use regardless). */
const TOKEN_SWEEP_EVERY_MS = 30_000;

const OPEN = 1;
const CLOSED = 3;

/**
 * Creates the WebSocket side of the gateway: connect tokens, Phoenix v2 joins, replay from the
 * event log, live delivery with per-socket backpressure, and the shared sweep that closes idle and
 * hopelessly slow sockets. See the contract, section 2. The channels themselves are kept by a
 * {@link ChannelStore}: in this process, or, given a `backplane`, shared with other nodes.
 *
 * Throws a {@link ChannelHubError} (`invalid_project_id`, `invalid_option`) on bad options.
 *
 * @example
 * ```ts
 * const hub = createChannelHub({ projectId });
 * hub.attach(httpServer);
 * const channel = hub.open(channelId, { onCancel: () => controller.abort() });
 * const wsToken = await hub.issueToken(channelId); // goes into the 202 ack
 * channel.publish('tokens', { delta: 'Hello' });
 * channel.publish('response', { status: 'success', channel_id: channelId, content: 'Hello', meta: {} });
 * channel.finish();
 * ```
 */
export function createChannelHub(options: ChannelHubOptions): ChannelHub {
  return new Hub(options);
}

class Hub implements ChannelHub {
  private readonly now: () => number;
  private readonly tokenTtlMs: number;
  private readonly resumeTokenTtlMs: number;
  private readonly hardCap: number;
  private readonly hardCapGraceMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly limits: DeliveryLimits;
  private readonly options: ChannelHubOptions;
  private readonly timers: IntervalTimers;
  private readonly listeners: ListenerRegistry | undefined;

  private readonly tokens: ConnectTokens;
  private readonly channels: ChannelStore;
  private readonly connections = new Map<WebSocket, HubConnection>();
  private readonly servers = new Set<Server>();
  private readonly wss: WebSocketServer;
  private readonly sweepTimer: unknown;
  private nextTokenSweepAt: number;
  private closed = false;
  private droppedFrames = 0;
  private slowClosed = 0;
  private rateLimitedJoins = 0;

  // Listeners shared by every socket (`this` is the socket): no closures per connection.
  private readonly onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  private readonly onMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  private readonly onClose: (this: WebSocket) => void;

  constructor(options: ChannelHubOptions) {
    if (!isUuid(options?.projectId)) {
      throw new ChannelHubError('invalid_project_id', 'projectId must be a UUID');
    }
    this.options = options;
    this.listeners = options.listeners;
    const now = options.now ?? (() => Date.now());
    if (typeof now !== 'function') throw new ChannelHubError('invalid_option', 'now must be a function');
    this.now = now;
    this.tokenTtlMs = positive(options, 'tokenTtlMs');
    this.resumeTokenTtlMs = positive(options, 'resumeTokenTtlMs');
    this.hardCap = positive(options, 'hardCap');
    this.hardCapGraceMs = nonNegative(options, 'hardCapGraceMs');
    this.idleTimeoutMs = positive(options, 'idleTimeoutMs');
    this.maxFrameBytes = positive(options, 'maxFrameBytes');
    // Messages between the two limits are read and dropped (the socket stays open); only past
    // maxMessageBytes does `ws` stop reading and close with 1009.
    const maxMessageBytes = Math.max(positive(options, 'maxMessageBytes'), this.maxFrameBytes);
    this.limits = {
      highWaterMark: nonNegative(options, 'highWaterMark'),
      maxMergedChars: positive(options, 'maxMergedChars'),
      hardCap: this.hardCap,
      joinBurst: positiveInteger(options, 'joinBurst'),
      joinsPerSecond: positive(options, 'joinsPerSecond'),
    };
    const sweepIntervalMs = positive(options, 'sweepIntervalMs');
    const timers = options.timers ?? systemIntervals;
    if (typeof timers?.setInterval !== 'function' || typeof timers.clearInterval !== 'function') {
      throw new ChannelHubError('invalid_option', 'timers must provide setInterval and clearInterval');
    }
    this.timers = timers;

    const maxPerTopic = positiveInteger(options, 'maxTokensPerChannel');
    this.tokens =
      options.backplane?.tokens ??
      localTokens(
        new TokenStore(options.randomBytes === undefined ? { now, maxPerTopic } : { now, maxPerTopic, random: options.randomBytes }),
      );
    this.channels = new ChannelStore({
      projectId: options.projectId,
      now,
      retentionMs: nonNegative(options, 'retentionMs'),
      ...(options.backplane ? { backplane: options.backplane } : {}),
      reportError: (error) => this.reportError(error),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: maxMessageBytes,
    });

    const hub = this;
    this.onUpgrade = (req, socket, head) => this.handleUpgrade(req, socket, head);
    this.onMessage = function (data, isBinary) {
      hub.receive(this, data, isBinary);
    };
    this.onClose = function () {
      hub.disconnected(this);
    };

    this.nextTokenSweepAt = now() + TOKEN_SWEEP_EVERY_MS;
    this.sweepTimer = timers.setInterval(() => {
      try {
        this.sweep();
      } catch (error) {
        // Defensive, like the socket handlers: one bad pass must not stop the ones after it.
        this.reportError(error);
      }
    }, sweepIntervalMs);
  }

  // ---- ChannelHub ---------------------------------------------------------------------------

  open(channelId: string, hooks: ChannelHooks): ChannelHandle {
    if (this.closed) throw new ChannelHubError('hub_closed', 'the channel hub is closed');
    return this.channels.open(channelId, hooks);
  }

  async adopt(channelId: string, hooks: ChannelHooks): Promise<ChannelHandle | undefined> {
    if (this.closed) throw new ChannelHubError('hub_closed', 'the channel hub is closed');
    return this.channels.adopt(channelId, hooks);
  }

  get(channelId: string): ChannelHandle | undefined {
    return this.channels.live(channelId);
  }

  describe(channelId: string): Promise<{ channelId: string; topic: string } | undefined> {
    return this.channels.describe(channelId);
  }

  async issueToken(channelId: string): Promise<string> {
    if (this.closed) throw new ChannelHubError('hub_closed', 'the channel hub is closed');
    const channel = await this.channels.describe(channelId);
    if (channel === undefined) {
      throw new ChannelHubError('channel_not_found', `channel ${channelId} is unknown or its log has expired`);
    }
    // A channel opened here may not be in the store yet: no token for it leaves before it is,
    // or another node could refuse the join.
    if (this.channels.runsHere(channelId)) await this.channels.written();
    return this.tokens.issue(channel.topic, this.tokenTtlMs);
  }

  attach(server: Server): void {
    if (this.closed) throw new ChannelHubError('hub_closed', 'the channel hub is closed');
    if (this.servers.has(server)) return;
    this.servers.add(server);
    server.on('upgrade', this.onUpgrade);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clearInterval(this.sweepTimer);
    for (const server of this.servers) server.off('upgrade', this.onUpgrade);
    this.servers.clear();
    this.channels.close();
    this.tokens.clear();
    this.listeners?.close();
    const closing: Promise<void>[] = [];
    for (const ws of this.connections.keys()) {
      if (ws.readyState === CLOSED) continue;
      closing.push(new Promise((resolve) => ws.once('close', () => resolve())));
      ws.terminate();
    }
    this.wss.close();
    await Promise.all(closing);
    this.connections.clear();
  }

  stats(): ChannelHubStats {
    let joined = 0;
    let lagging = 0;
    for (const connection of this.connections.values()) {
      if (connection.channel !== null) joined++;
      if (connection.lagging) lagging++;
    }
    return {
      sockets: this.connections.size,
      channels: this.channels.size,
      joined,
      lagging,
      tokens: this.tokens.size,
      droppedFrames: this.droppedFrames,
      slowClosed: this.slowClosed,
      rateLimitedJoins: this.rateLimitedJoins,
    };
  }

  private reportError(error: unknown): void {
    try {
      this.options.onError?.(error);
    } catch {
      // An error reporter that throws has nowhere left to report to.
    }
  }

  // ---- upgrade ------------------------------------------------------------------------------

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Until ws takes the socket over, a reset must not become an unhandled 'error'.
    socket.on('error', ignore);
    if (this.closed) return reject(socket, 503);
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (path !== SOCKET_PATH) return reject(socket, 404);
    const params = new URLSearchParams(query === -1 ? '' : url.slice(query + 1));
    const vsn = params.get('vsn');
    if (vsn !== null && vsn !== '2.0.0') return reject(socket, 400, 'unsupported vsn: only 2.0.0 is spoken here');
    const token = params.get('token');
    // A CLI listener authenticates with its API key in a header, never in the URL (URLs get logged).
    if (token === null && this.listeners !== undefined && req.headers.authorization !== undefined) {
      return this.upgradeListener(req, socket, head, this.listeners);
    }
    if (token === null) return reject(socket, 403);
    this.tokens.isValid(token).then(
      (valid) => {
        if (!valid) return reject(socket, 403);
        if (this.closed) return reject(socket, 503);
        if (socket.destroyed) return;
        // The token is used up only once ws accepts the handshake, so a malformed upgrade request
        // does not burn it. Until it is, the socket reads nothing: no frame can arrive unrouted.
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          ws.pause();
          this.tokens.consume(token).then(
            (topic) => {
              if (topic === undefined || this.closed) return ws.terminate();
              this.accept(ws, topic);
              ws.resume();
            },
            (error: unknown) => {
              this.reportError(error);
              ws.terminate();
            },
          );
        });
      },
      (error: unknown) => {
        this.reportError(error);
        reject(socket, 503);
      },
    );
  }

  private upgradeListener(req: IncomingMessage, socket: Duplex, head: Buffer, listeners: ListenerRegistry): void {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    const projectId = match?.[1] === undefined ? undefined : listeners.authenticate(match[1]);
    if (projectId === undefined) return reject(socket, 401, 'Unauthorized: wrong or missing API key');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, listenerTopic(projectId)));
  }

  private accept(ws: WebSocket, topic: string): void {
    this.connections.set(ws, new Connection<Channel>(ws, topic, this.now(), this.limits));
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
    ws.on('error', ignore);
  }

  private disconnected(ws: WebSocket): void {
    const connection = this.connections.get(ws);
    if (connection === undefined) return;
    this.connections.delete(ws);
    this.leave(connection);
    if (isListener(connection)) this.listeners?.leave(connection);
  }

  // ---- frames -------------------------------------------------------------------------------

  private receive(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const connection = this.connections.get(ws);
    if (connection === undefined || connection.closingSince !== -1) return;
    connection.lastSeenAt = this.now();
    const decoded = decodeClientFrame(toBuffer(data), isBinary, this.maxFrameBytes);
    if (!decoded.ok) {
      this.droppedFrames++;
      return;
    }
    if (connection.queued !== null) {
      // The previous frame waits on the store; this one follows it, in order.
      if (connection.queued.length >= MAX_QUEUED_FRAMES) this.droppedFrames++;
      else connection.queued.push(decoded.frame);
      return;
    }
    this.dispatch(connection, decoded.frame);
  }

  /** Routes one frame; one that waits on the store holds the socket's later frames until it is done. */
  private dispatch(connection: HubConnection, frame: Frame): void {
    let pending: Promise<void> | void;
    try {
      pending = this.route(connection, frame);
    } catch (error) {
      // Defensive: nothing in routing is expected to throw, and a socket handler must not.
      this.reportError(error);
      return;
    }
    if (pending === undefined) return;
    connection.queued = [];
    pending
      .catch((error: unknown) => this.reportError(error))
      .finally(() => {
        const queued = connection.queued ?? [];
        connection.queued = null;
        for (let i = 0; i < queued.length; i++) {
          // A frame that waits again holds the rest behind it (dispatch set `queued` anew).
          const waiting = connection.queued as Frame[] | null;
          if (waiting !== null) {
            waiting.push(...queued.slice(i));
            return;
          }
          this.dispatch(connection, queued[i] as Frame);
        }
      });
  }

  private route(connection: HubConnection, [joinRef, ref, topic, event, payload]: Frame): Promise<void> | void {
    if (event === 'heartbeat' && topic === 'phoenix') {
      connection.send(replyFrame(null, ref, topic, 'ok', {}));
      return;
    }
    if (isListener(connection)) {
      this.routeListener(connection, joinRef, ref, topic, event, payload);
      return;
    }
    if (event === 'phx_join') return this.join(connection, joinRef, ref, topic, payload);
    const channel = connection.channel;
    const joined = channel !== null && channel.topic === topic;
    if (event === 'phx_leave') {
      if (joined) this.leave(connection);
      connection.send(replyFrame(joinRef, ref, topic, 'ok', {}));
      return;
    }
    if (!joined) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unmatched_topic' }));
      return;
    }
    if (event === 'cancel') {
      // Reply first: the hook may publish the `cancelled` response synchronously.
      connection.send(replyFrame(joinRef, ref, topic, 'ok', {}));
      channel.requestCancel();
      return;
    }
    connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unknown_event' }));
  }

  /** Frames of a listener socket: the same join allowance as channel sockets, then the registry. */
  private routeListener(connection: HubConnection, joinRef: string | null, ref: string | null, topic: string, event: string, payload: unknown): void {
    const listeners = this.listeners as ListenerRegistry;
    if (event === 'phx_join') {
      if (!connection.joinRate.take(this.now())) {
        this.rateLimitedJoins++;
        connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: JOIN_RATE_LIMITED }));
        return;
      }
      listeners.join(connection, joinRef, ref, topic);
      return;
    }
    listeners.receive(connection, joinRef, ref, topic, event, payload);
  }

  private join(connection: HubConnection, joinRef: string | null, ref: string | null, topic: string, payload: unknown): Promise<void> | void {
    const refuse = (reason: JoinErrorReason | typeof JOIN_RATE_LIMITED | typeof JOIN_STORE_UNAVAILABLE): void =>
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason }));
    // Counted before anything else, so refused joins cost their share too; the current
    // subscription, if any, is left as it is.
    if (!connection.joinRate.take(this.now())) {
      this.rateLimitedJoins++;
      return refuse(JOIN_RATE_LIMITED);
    }
    const parts = parseTopic(topic);
    if (parts === null) return refuse('invalid_channel_format');
    if (topic !== connection.topic) return refuse('unauthorized');
    const found = this.channels.forJoin(parts.channelId);
    if (found === undefined) return refuse('not_found');
    // One live resume token per socket: a rejoin flood must not mint tokens that all stay valid.
    const previous = connection.resumeToken;
    connection.resumeToken = null;
    if (previous !== null) this.tokens.revoke(previous).catch((error: unknown) => this.reportError(error));
    return Promise.all([found, this.tokens.issue(topic, this.resumeTokenTtlMs)]).then(
      ([channel, resumeToken]) => {
        if (connection.closingSince !== -1 || !this.connections.has(connection.ws)) return;
        if (channel === undefined || channel.dropped) return refuse('not_found');
        connection.resumeToken = resumeToken;
        this.subscribe(connection, channel, joinRef, ref, topic, readLastSeq(payload), resumeToken);
      },
      (error: unknown) => {
        this.reportError(error);
        refuse(JOIN_STORE_UNAVAILABLE);
      },
    );
  }

  private subscribe(
    connection: HubConnection,
    channel: Channel,
    joinRef: string | null,
    ref: string | null,
    topic: string,
    fromSeq: number,
    resumeToken: string,
  ): void {
    // A second join on the same socket (a client rejoining in place) replaces the first; a mirror
    // it rejoins is not dropped on the way.
    if (connection.channel === channel) {
      channel.subscribers.delete(connection);
      connection.unsubscribe();
    } else {
      this.leave(connection);
    }
    connection.subscribe(channel, joinRef, fromSeq);
    channel.subscribers.add(connection);
    connection.send(
      replyFrame(joinRef, ref, topic, 'ok', { last_seq: channel.visibleSeq, resume_token: resumeToken }),
    );
    connection.flush(false);
    const onJoin = this.options.onJoin;
    if (onJoin !== undefined) {
      try {
        onJoin({ channelId: channel.channelId, topic, fromSeq, lastSeq: channel.visibleSeq });
      } catch (error) {
        this.reportError(error);
      }
    }
  }

  private leave(connection: HubConnection): void {
    const channel = connection.channel;
    if (channel === null) return;
    channel.subscribers.delete(connection);
    connection.unsubscribe();
    this.channels.left(channel);
  }

  // ---- sweep --------------------------------------------------------------------------------

  /** The one periodic pass over all sockets, finished channels and tokens. */
  private sweep(): void {
    const now = this.now();
    for (const [ws, connection] of this.connections) {
      if (connection.closingSince !== -1) {
        // The close frame could not get through a full buffer either.
        if (now - connection.closingSince >= this.hardCapGraceMs) ws.terminate();
        continue;
      }
      if (now - connection.lastSeenAt >= this.idleTimeoutMs) {
        ws.terminate();
        continue;
      }
      // A frame larger than the cap is exempt from it; the cap applies to what queues behind it.
      // (Delivery writes nothing more until the socket drains below the high-water mark, so
      // little can.) The frame itself must drain at the pace the cap implies: one grace period
      // per cap's worth of bytes, restarted whenever one such frame has been written out.
      const oversize = connection.oversizeBytes;
      if (oversize > 0) {
        if (connection.oversizeSince === -1) connection.oversizeSince = now;
        else if (now - connection.oversizeSince >= this.hardCapGraceMs * Math.ceil(oversize / this.hardCap)) {
          this.closeSlow(ws, connection, now);
          continue;
        }
      }
      const buffered = ws.bufferedAmount - oversize;
      if (buffered > this.hardCap) {
        if (connection.overCapSince === -1) connection.overCapSince = now;
        else if (now - connection.overCapSince >= this.hardCapGraceMs) this.closeSlow(ws, connection, now);
        continue;
      }
      connection.overCapSince = -1;
      // Normally the write callbacks resume a lagging socket; this is the backstop.
      if (connection.lagging && buffered <= this.limits.highWaterMark) connection.flush(false);
    }

    this.channels.expire(now);

    if (now >= this.nextTokenSweepAt) {
      this.tokens.sweep();
      this.nextTokenSweepAt = now + TOKEN_SWEEP_EVERY_MS;
    }
  }

  private closeSlow(ws: WebSocket, connection: HubConnection, now: number): void {
    this.slowClosed++;
    this.leave(connection);
    connection.closingSince = now;
    if (ws.readyState === OPEN) ws.close(SLOW_CONSUMER_CLOSE_CODE, 'slow_consumer');
  }
}

function readLastSeq(payload: unknown): number {
  // Anything but a non-negative safe integer counts as 0: a full replay is always safe, because
  // clients ignore frames at or below the seq they have applied.
  if (payload === null || typeof payload !== 'object') return 0;
  const value = (payload as { last_seq?: unknown }).last_seq;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : 0;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function reject(socket: Duplex, status: number, text: string = STATUS_CODES[status] ?? 'Error'): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${text}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      'Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function ignore(): void {}

/** Listener sockets are bound to `webhooks:{project_id}`; channel sockets to `ai_response:…`. */
function isListener(connection: HubConnection): boolean {
  return connection.topic.startsWith(LISTENER_TOPIC_PREFIX);
}

type NumericOption =
  | 'tokenTtlMs'
  | 'resumeTokenTtlMs'
  | 'retentionMs'
  | 'highWaterMark'
  | 'hardCap'
  | 'hardCapGraceMs'
  | 'idleTimeoutMs'
  | 'sweepIntervalMs'
  | 'maxFrameBytes'
  | 'maxMessageBytes'
  | 'maxMergedChars'
  | 'joinBurst'
  | 'joinsPerSecond'
  | 'maxTokensPerChannel';

function positive(options: ChannelHubOptions, name: NumericOption): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ChannelHubError('invalid_option', `${name} must be a positive finite number`);
  }
  return value;
}

function positiveInteger(options: ChannelHubOptions, name: NumericOption): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ChannelHubError('invalid_option', `${name} must be an integer ≥ 1`);
  }
  return value;
}

function nonNegative(options: ChannelHubOptions, name: NumericOption): number {
  const value = options[name] ?? DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ChannelHubError('invalid_option', `${name} must be a non-negative finite number`);
  }
  return value;
}
