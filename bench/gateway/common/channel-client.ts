/**
 * The benchmarks' client side of a channel: join over a plain `ws` socket the way a Phoenix client
 * does, and keep the sockets alive with heartbeats.
 */
import { WebSocket } from 'ws';
import { wallNow } from './clock.js';
import { runPool } from './pool.js';

/** What a client needs to join one channel: its topic and a single-use connect token. */
export interface ChannelTicket {
  topic: string;
  token: string;
}

/** A gateway process's answer to its set-up: where it listens and a ticket per channel. */
export interface ReadyReply {
  type: 'ready';
  port: number;
  tickets: ChannelTicket[];
}

/** A joined socket and when its join reply arrived (wall clock). */
export interface JoinedChannel {
  ws: WebSocket;
  repliedAt: number;
}

const HEARTBEAT_MS = 25_000;

/**
 * Connects to `url`, joins `ticket`'s channel and resolves once the join reply is `ok`. Frames
 * after the reply go to `onFrame` as text with their arrival time: the client process measures and
 * must not be the bottleneck, so the hot path reads the few fields it needs without JSON.parse.
 * `onClose` runs whenever the socket closes, joined or not.
 *
 * @example
 * ```ts
 * const { ws, repliedAt } = await joinChannel(url, ticket, (text, at) => console.log(at, text));
 * ```
 */
export function joinChannel(
  url: string,
  ticket: ChannelTicket,
  onFrame: (text: string, at: number) => void,
  onClose: () => void = () => {},
): Promise<JoinedChannel> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(ticket.token)}&vsn=2.0.0`, { perMessageDeflate: false });
    let joined = false;
    ws.on('message', (data) => {
      const at = wallNow();
      const text = data.toString();
      if (joined) {
        onFrame(text, at);
        return;
      }
      const frame = JSON.parse(text) as [string | null, string | null, string, string, unknown];
      if (frame[3] === 'phx_reply' && frame[1] === '1') {
        joined = true;
        if ((frame[4] as { status: string }).status !== 'ok') reject(new Error(`join refused: ${JSON.stringify(frame[4])}`));
        else resolve({ ws, repliedAt: at });
      }
    });
    ws.once('open', () => ws.send(JSON.stringify(['1', '1', ticket.topic, 'phx_join', { last_seq: 0 }])));
    ws.once('error', reject);
    ws.once('close', () => {
      onClose();
      if (!joined) reject(new Error('closed before the join reply'));
    });
  });
}

/**
 * Sends a Phoenix heartbeat on every open socket of `sockets` every 25 s, like a Phoenix client;
 * the timer does not keep the process alive.
 *
 * @example
 * ```ts
 * startHeartbeats(sockets);
 * ```
 */
export function startHeartbeats(sockets: readonly WebSocket[]): void {
  let ref = 0;
  setInterval(() => {
    for (const ws of sockets) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify([null, `hb${++ref}`, 'phoenix', 'heartbeat', {}]));
    }
  }, HEARTBEAT_MS).unref();
}

/** How {@link joinChannels} went. */
export interface JoinedChannels {
  /** The joined sockets, heartbeating. */
  sockets: WebSocket[];
  joined: number;
  failed: number;
  firstError?: string;
}

/**
 * Joins every ticket's channel with {@link joinChannel}, `concurrency` joins at a time; a failed
 * join is counted, not thrown. The joined sockets then heartbeat ({@link startHeartbeats}).
 * `listener` gives each socket its `onFrame`.
 *
 * @example
 * ```ts
 * const meter = new TokenMeter();
 * const { joined, failed } = await joinChannels(url, tickets, 64, () => meter.socketListener());
 * ```
 */
export async function joinChannels(
  url: string,
  tickets: readonly ChannelTicket[],
  concurrency: number,
  listener: () => (text: string, at: number) => void,
  onClose?: () => void,
): Promise<JoinedChannels> {
  const sockets: WebSocket[] = [];
  let failed = 0;
  let firstError: string | undefined;
  await runPool(tickets, concurrency, async (ticket) => {
    try {
      const { ws } = await joinChannel(url, ticket, listener(), onClose);
      sockets.push(ws);
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  });
  startHeartbeats(sockets);
  return { sockets, joined: sockets.length, failed, ...(firstError === undefined ? {} : { firstError }) };
}
