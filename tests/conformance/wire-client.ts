/**
 * A frame-by-frame Phoenix v2 client over `ws`, written for the conformance suite alone so that it
 * shares no decoding code with any implementation it checks. It keeps every text the server sent
 * and lets a case await the frames it expects; it never answers, rejoins or times out by itself
 * (vitest's test timeout catches a frame that never comes).
 */
import { WebSocket, type RawData } from 'ws';

/** `[join_ref, ref, topic, event, payload]` */
export type WireFrame = [joinRef: string | null, ref: string | null, topic: string, event: string, payload: unknown];

/** A `phx_reply` payload. */
export interface Reply {
  status: string;
  response: Record<string, unknown>;
}

/** A server event's payload, as far as the suite reads it. */
export interface EventPayload {
  seq: number;
  first_seq?: number;
  delta?: string;
  [key: string]: unknown;
}

type Predicate = (frame: WireFrame) => boolean;

/**
 * The connect URL for a socket URL and a token.
 *
 * @example
 * ```ts
 * connectUrl('ws://127.0.0.1:4000/socket', token); // ws://127.0.0.1:4000/socket/websocket?token=…&vsn=2.0.0
 * ```
 */
export function connectUrl(socketUrl: string, token: string): string {
  return `${socketUrl}/websocket?token=${encodeURIComponent(token)}&vsn=2.0.0`;
}

/**
 * The HTTP status an upgrade gets: 101 when accepted (the socket is closed at once), else the refusal.
 *
 * @example
 * ```ts
 * expect(await upgradeStatus(connectUrl(url, 'nope'))).toBe(403);
 * ```
 */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.on('error', (error) => reject(error));
  });
}

/**
 * A connected socket.
 *
 * @example
 * ```ts
 * const client = await WireClient.connect(connectUrl(url, token));
 * const { reply, joinRef } = await client.join(topic);
 * await client.waitFor((f) => f[3] === 'response');
 * ```
 */
export class WireClient {
  /** Every text message the server sent, unparsed. */
  readonly texts: string[] = [];
  /** The frames among them (a text that is not a 5-element array is not a frame). */
  readonly frames: WireFrame[] = [];
  readonly closed: Promise<{ code: number }>;
  private ref = 0;
  private waiters: { predicate: Predicate; resolve: (frame: WireFrame) => void; reject: (error: Error) => void }[] = [];

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code) => {
        const error = new Error(`socket closed (${code}) while a frame was awaited`);
        for (const waiter of this.waiters) waiter.reject(error);
        this.waiters = [];
        resolve({ code });
      });
    });
    ws.on('error', () => undefined);
    ws.on('message', (data: RawData, isBinary: boolean) => {
      const text = isBinary ? `<binary ${String(data)}>` : String(data);
      this.texts.push(text);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        return;
      }
      if (!Array.isArray(frame) || frame.length !== 5) return;
      const wire = frame as WireFrame;
      this.frames.push(wire);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.predicate(wire)) return true;
        waiter.resolve(wire);
        return false;
      });
    });
  }

  /** Connects; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const client = new WireClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        reject(new Error(`upgrade refused: ${res.statusCode}`));
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  nextRef(): string {
    this.ref += 1;
    return String(this.ref);
  }

  /** Sends a frame as given. */
  send(frame: WireFrame): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends any message as-is (for messages that are not frames). */
  sendMessage(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.ws.send(data, { binary: options.binary ?? false });
  }

  /** Pushes an event and resolves with its reply frame. */
  async push(topic: string, event: string, payload: unknown, joinRef: string | null = null): Promise<{ frame: WireFrame; reply: Reply }> {
    const ref = this.nextRef();
    const replied = this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply');
    this.send([joinRef, ref, topic, event, payload]);
    const frame = await replied;
    return { frame, reply: frame[4] as Reply };
  }

  /** Joins (join_ref = ref, as Phoenix clients do); resolves with the reply and the join_ref. */
  async join(topic: string, payload: Record<string, unknown> = {}): Promise<{ reply: Reply; joinRef: string; frame: WireFrame }> {
    const ref = this.nextRef();
    const replied = this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply');
    this.send([ref, ref, topic, 'phx_join', payload]);
    const frame = await replied;
    return { reply: frame[4] as Reply, joinRef: ref, frame };
  }

  /** A heartbeat round trip: everything sent before its reply has arrived once it resolves. */
  heartbeat(): Promise<{ frame: WireFrame; reply: Reply }> {
    return this.push('phoenix', 'heartbeat', {});
  }

  /** The first frame, already received or to come, that matches. */
  waitFor(predicate: Predicate): Promise<WireFrame> {
    const found = this.frames.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => this.waiters.push({ predicate, resolve, reject }));
  }

  /** Server events (not replies) received on `topic`, in order. */
  events(topic: string): { event: string; payload: EventPayload; frame: WireFrame }[] {
    return this.frames
      .filter((f) => f[2] === topic && f[3] !== 'phx_reply')
      .map((frame) => ({ event: frame[3], payload: frame[4] as EventPayload, frame }));
  }

  close(): void {
    this.ws.terminate();
  }
}

/**
 * Applies server events as the contract's strongest promise says they arrive: each frame starts
 * exactly one past the last applied seq (no gap, no overlap). Throws otherwise. Returns the text
 * of the `tokens` and the last seq.
 *
 * @example
 * ```ts
 * const { text, lastSeq } = applyInOrder(client.events(topic).map((e) => e.payload), 0);
 * ```
 */
export function applyInOrder(events: readonly { event: string; payload: EventPayload }[], after = 0): { text: string; lastSeq: number } {
  let applied = after;
  let text = '';
  for (const { event, payload } of events) {
    const first = payload.first_seq ?? payload.seq;
    if (first !== applied + 1 || payload.seq < first) {
      throw new Error(`${event} covers ${first}..${payload.seq} after ${applied}: a gap or a duplicate`);
    }
    applied = payload.seq;
    if (event === 'tokens') text += payload.delta ?? '';
  }
  return { text, lastSeq: applied };
}
