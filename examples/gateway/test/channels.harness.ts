/**
 * Test harness for the channel hub: a bare node:http server on 127.0.0.1:0 with the hub attached,
 * and a raw `ws` client that records every frame and lets tests await the ones they expect.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket } from 'ws';
import type { Frame } from '@modelriver/client';
import { createChannelHub, type ChannelHub, type ChannelHubOptions, type IntervalTimers } from '../src/channels/index.js';

export const PROJECT_ID = '6f1d2c3b-4a5e-4f60-8b71-92a3b4c5d6e7';

export const topicFor = (channelId: string): string => `ai_response:${PROJECT_ID}:${channelId}`;

export interface HubFixture {
  hub: ChannelHub;
  server: Server;
  /** `ws://127.0.0.1:{port}/socket/websocket` */
  socketUrl: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts a hub on a fresh loopback server.
 *
 * @example
 * ```ts
 * const fx = await startHub({ retentionMs: 1000 });
 * afterEach(() => fx.close());
 * ```
 */
export async function startHub(options: Partial<ChannelHubOptions> = {}): Promise<HubFixture> {
  const hub = createChannelHub({ projectId: PROJECT_ID, ...options });
  const server = createServer((_req, res) => res.writeHead(404).end());
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    hub,
    server,
    port,
    socketUrl: `ws://127.0.0.1:${port}/socket/websocket`,
    async close() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** An interval timer whose one callback (the hub's sweep) runs only when the test says so. */
export interface ManualSweep {
  timers: IntervalTimers;
  /** Runs the hub's sweep now; throws if none is scheduled. */
  sweep(): void;
}

/**
 * Hands the hub timers that never fire on their own, so a test decides when each sweep runs and,
 * with an injected clock, what time it sees: nothing then depends on how busy the machine is.
 *
 * @example
 * ```ts
 * const manual = manualSweep();
 * fx = await startHub({ timers: manual.timers, now: () => now });
 * now += 5_000;
 * manual.sweep();
 * ```
 */
export function manualSweep(): ManualSweep {
  let pending: (() => void) | null = null;
  return {
    timers: {
      setInterval(callback) {
        pending = callback;
        return pending;
      },
      clearInterval() {
        pending = null;
      },
    },
    sweep() {
      if (pending === null) throw new Error('no sweep is scheduled');
      pending();
    },
  };
}

/** Opens a channel with a fresh UUID and returns it with its topic and a connect token. */
export async function openChannel(hub: ChannelHub, onCancel: () => void = () => {}) {
  const channelId = randomUUID();
  const channel = hub.open(channelId, { onCancel });
  return { channelId, channel, topic: channel.topic, token: await hub.issueToken(channelId) };
}

/**
 * The HTTP status an upgrade attempt gets (101 when it succeeds; the socket is then closed).
 *
 * @example
 * ```ts
 * expect(await upgradeStatus(`${fx.socketUrl}?token=nope&vsn=2.0.0`)).toBe(403);
 * ```
 */
export function upgradeStatus(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
  });
}

type FramePredicate = (frame: Frame) => boolean;

/** A raw Phoenix v2 client that records every frame it receives. */
export class TestClient {
  readonly frames: Frame[] = [];
  /** Every message received, raw (to check that undecodable frames never come back). */
  rawCount = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private ref = 0;
  private waiters: { predicate: FramePredicate; resolve: (frame: Frame) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    ws.on('message', (data) => {
      this.rawCount++;
      const frame = JSON.parse(data.toString()) as Frame;
      this.frames.push(frame);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.predicate(frame)) return true;
        waiter.resolve(frame);
        return false;
      });
    });
  }

  /** Connects with `token` (and `vsn=2.0.0`); rejects if the upgrade is refused. */
  static connect(socketUrl: string, token: string): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${socketUrl}?token=${encodeURIComponent(token)}&vsn=2.0.0`, {
        perMessageDeflate: false,
      });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  nextRef(): string {
    this.ref += 1;
    return String(this.ref);
  }

  /** Sends a frame as given (tests use it for malformed ones too). */
  sendRaw(data: string | Buffer, binary = false): void {
    this.ws.send(data, { binary });
  }

  /** Pushes `event` and resolves with its `phx_reply`. */
  push(topic: string, event: string, payload: unknown, joinRef: string | null = null): Promise<Frame> {
    const ref = this.nextRef();
    const reply = this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply');
    this.sendRaw(JSON.stringify([joinRef, ref, topic, event, payload]));
    return reply;
  }

  /** Joins `topic` (join_ref = ref, as Phoenix clients do) and resolves with the reply frame. */
  join(topic: string, payload: Record<string, unknown> = {}): Promise<Frame> {
    const ref = this.nextRef();
    const reply = this.waitFor((f) => f[1] === ref && f[3] === 'phx_reply');
    this.sendRaw(JSON.stringify([ref, ref, topic, 'phx_join', payload]));
    return reply;
  }

  /** A heartbeat round trip: everything the server sent before it has arrived once it resolves. */
  heartbeat(): Promise<Frame> {
    return this.push('phoenix', 'heartbeat', {});
  }

  /** Resolves with the first frame (already received or future) matching `predicate`. */
  waitFor(predicate: FramePredicate): Promise<Frame> {
    const found = this.frames.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve) => this.waiters.push({ predicate, resolve }));
  }

  /** Server events (not replies) received on `topic`. */
  events(topic: string): Frame[] {
    return this.frames.filter((f) => f[2] === topic && f[3] !== 'phx_reply');
  }

  /** The underlying TCP socket (to pause reading, as a client that cannot keep up would). */
  get tcp(): Socket {
    return (this.ws as unknown as { _socket: Socket })._socket;
  }

  close(): void {
    this.ws.terminate();
  }
}

/** `[join_ref, ref, topic, 'phx_reply', {status, response}]` → `{status, response}` */
export function replyOf(frame: Frame): { status: string; response: Record<string, unknown> } {
  return frame[4] as { status: string; response: Record<string, unknown> };
}

/**
 * Applies server events the way a client must (highest applied seq, ignore at or below it) and
 * checks the hub's stronger promise: every frame starts exactly one past what was applied (no gap,
 * no overlap). Returns the text of the `tokens` and the seqs seen.
 */
export function applyStrict(frames: Frame[], startAfter = 0): { text: string; lastSeq: number; events: string[] } {
  let applied = startAfter;
  let text = '';
  const events: string[] = [];
  for (const [, , , event, payload] of frames) {
    if (event === 'phx_reply') continue;
    const p = payload as { seq: number; first_seq?: number; delta?: string };
    const first = p.first_seq ?? p.seq;
    if (first !== applied + 1 || p.seq < first) {
      throw new Error(`frame ${event} covers ${first}..${p.seq} after ${applied}: gap or overlap`);
    }
    applied = p.seq;
    events.push(event);
    if (event === 'tokens') text += p.delta;
  }
  return { text, lastSeq: applied, events };
}
