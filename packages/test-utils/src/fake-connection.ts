/**
 * One accepted WebSocket: the server side of the channel protocol for one
 * client (heartbeat, join, leave, cancel), plus the knobs tests use to break it.
 */
import type { Frame } from './wire-types.js';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';
import type { FakeChannel } from './fake-channel.js';
import { decodeFrame, encodeFrame, PHOENIX_TOPIC, replyFrame, type RecordedFrame } from './frames.js';
import type { TokenGrant } from './token-registry.js';
import { parseTopic } from './topic.js';

/** What a connection needs from its gateway. */
export interface ConnectionHost {
  readonly replyToHeartbeats: boolean;
  readonly recordSent: boolean;
  /** Hold writes made in one tick and flush them together (one writev). */
  readonly coalesceSends: boolean;
  now(): number;
  channelByTopic(topic: string): FakeChannel | undefined;
  /** Records a frame in the gateway-wide log and wakes its waiters. */
  record(frame: RecordedFrame): void;
  /** The socket is gone. */
  closed(connection: FakeConnection): void;
}

/** How a socket ended: the close code (1006 for an unclean drop) and reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

// ws's OPEN constant, without importing ws at runtime here.
const OPEN = 1;

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function readLastSeq(payload: unknown): number {
  if (typeof payload !== 'object' || payload === null) return 0;
  const value = (payload as { last_seq?: unknown }).last_seq;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0;
}

/**
 * A client socket accepted by the fake gateway. Get one from
 * `gateway.waitForConnection()` or `gateway.connections`.
 *
 * @example
 * const conn = await gw.waitForConnection();
 * conn.inject('{not json');   // the client should report a protocol error and carry on
 * conn.drop();                // unclean: no close frame
 */
export class FakeConnection {
  /** Frames this socket sent, in order. */
  readonly received: RecordedFrame[] = [];
  /** Every text sent to this socket, in order (empty when the gateway has `recordSent: false`). */
  readonly sent: string[] = [];
  /** Resolves once the socket is closed, however it ended. */
  readonly closedInfo: Promise<CloseInfo>;

  private readonly topics = new Map<string, FakeChannel>();
  private isOpen = true;
  private corkedWrites = 0;

  /** @internal Created by the gateway on an accepted upgrade. */
  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    /** The upgraded TCP socket under `ws`, corked when coalescing sends. */
    private readonly socket: Duplex,
    private readonly grant: TokenGrant,
    private readonly host: ConnectionHost,
  ) {
    this.closedInfo = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.isOpen = false;
        for (const channel of this.topics.values()) channel.detach(this);
        this.topics.clear();
        host.closed(this);
        resolve({ code, reason: reason.toString('utf8') });
      });
    });
    // A socket error is followed by 'close'; listening keeps it from being thrown.
    ws.on('error', () => undefined);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
  }

  /** The token this socket connected with. */
  get token(): string {
    return this.grant.token;
  }

  /** Whether it connected with a `ws_token` or a `resume_token`. */
  get tokenKind(): TokenGrant['kind'] {
    return this.grant.kind;
  }

  /** Topics this socket has joined and not left. */
  get joinedTopics(): string[] {
    return [...this.topics.keys()];
  }

  /** False once the socket has closed. */
  get open(): boolean {
    return this.isOpen;
  }

  /**
   * Terminates the TCP connection without a close frame (an unclean drop).
   *
   * @example
   * conn.drop(); // the client sees code 1006 and should reconnect
   */
  drop(): void {
    this.ws.terminate();
  }

  /**
   * Closes cleanly with a close frame.
   *
   * @example
   * conn.close(4001, 'going away');
   */
  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }

  /**
   * Sends a raw string, or a frame as-is (for malformed-frame tests).
   *
   * @example
   * conn.inject('[1,2]');
   * conn.inject([null, null, ch.topic, 'tokens', { seq: 99, delta: 'x' }]);
   */
  inject(data: string | Frame): void {
    this.sendText(typeof data === 'string' ? data : encodeFrame(data));
  }

  /**
   * Sends a frame; a no-op once the socket is closed. Returns whether it was sent.
   *
   * @example
   * conn.send([null, null, 'phoenix', 'phx_error', {}]);
   */
  send(frame: Frame): boolean {
    return this.sendText(encodeFrame(frame));
  }

  /**
   * Resolves with the close code and reason once the socket has closed.
   *
   * @example
   * const { code } = await conn.waitForClose(); // e.g. 1000 after client.disconnect()
   */
  waitForClose(): Promise<CloseInfo> {
    return this.closedInfo;
  }

  private sendText(text: string): boolean {
    if (this.ws.readyState !== OPEN) return false;
    if (this.host.coalesceSends) this.coalesce();
    this.ws.send(text);
    if (this.host.recordSent) this.sent.push(text);
    return true;
  }

  /**
   * Corks the TCP socket for the rest of the tick so a synchronous burst (a
   * benchmark's 200k events) leaves in a few large writes instead of one
   * syscall per frame; flushing every 256 frames keeps the client busy while
   * the burst is still being produced.
   */
  private coalesce(): void {
    if (this.corkedWrites === 0) {
      this.socket.cork();
      process.nextTick(() => {
        if (this.corkedWrites > 0) this.socket.uncork();
        this.corkedWrites = 0;
      });
    } else if (this.corkedWrites % 256 === 0) {
      this.socket.uncork();
      this.socket.cork();
    }
    this.corkedWrites += 1;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const raw = toText(data);
    // Only text frames carry the JSON serializer; anything else is dropped like bad JSON.
    const frame = isBinary ? null : decodeFrame(raw);
    const recorded: RecordedFrame = { connectionId: this.id, raw, frame, at: this.host.now() };
    this.received.push(recorded);
    this.host.record(recorded);
    if (frame) this.dispatch(frame);
  }

  private dispatch([joinRef, ref, topic, event, payload]: Frame): void {
    if (topic === PHOENIX_TOPIC && event === 'heartbeat') {
      if (this.host.replyToHeartbeats) this.send(replyFrame(joinRef, ref, topic, 'ok', {}));
      return;
    }
    if (event === 'phx_join') {
      this.join(joinRef, ref, topic, payload);
      return;
    }
    const channel = this.topics.get(topic);
    if (!channel) {
      // What Phoenix answers for a push to a topic the socket has not joined.
      this.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unmatched_topic' }));
      return;
    }
    switch (event) {
      case 'phx_leave':
        channel.detach(this);
        this.topics.delete(topic);
        this.send(replyFrame(joinRef, ref, topic, 'ok', {}));
        return;
      case 'cancel':
        this.send(replyFrame(joinRef, ref, topic, 'ok', {}));
        channel.cancelRequested();
        return;
      default:
        this.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unknown_event' }));
    }
  }

  private join(joinRef: string | null, ref: string | null, topic: string, payload: unknown): void {
    // A second join of a topic replaces the first, as in Phoenix.
    this.topics.get(topic)?.detach(this);
    this.topics.delete(topic);
    const refuse = (reason: string): void => {
      this.send(replyFrame(joinRef, ref, topic, 'error', { reason }));
    };
    if (!parseTopic(topic)) return refuse('invalid_channel_format');
    const channel = this.host.channelByTopic(topic);
    if (!channel) return refuse('not_found');
    if (topic !== this.grant.topic) return refuse('unauthorized');
    if (channel.refuseJoinsWith !== null) return refuse(channel.refuseJoinsWith);
    this.topics.set(topic, channel);
    channel.attach(this, joinRef, ref, readLastSeq(payload));
  }
}
