/**
 * Benchmark child: the clients. Opens one `ws` socket per channel, joins, heartbeats every 25 s
 * like a Phoenix client, and on every `tokens` frame reads the production timestamps the gateway
 * embedded in the delta (`t=<ms>;`) to measure production-to-receipt delay. Driven over IPC by
 * bench/channels.ts.
 */
import { WebSocket } from 'ws';
import { cpuPercent, Samples, wallNow, type ChannelTicket, type ClientReply, type ClientRequest } from './shared.js';

const STAMP = /t=(\d+(?:\.\d+)?);/g;
const HEARTBEAT_MS = 25_000;

const sockets: WebSocket[] = [];
const delays = new Samples();
let measureFrom = Number.POSITIVE_INFINITY;
let measureUntil = Number.POSITIVE_INFINITY;
let tokens = 0;
let frames = 0;
let seqErrors = 0;
let closed = 0;
let cpuSince = process.cpuUsage();
let wallSince = wallNow();
let heartbeatRef = 0;

function send(message: ClientReply): void {
  process.send?.(message);
}

/**
 * Connects, joins, and resolves with the join reply's arrival time and the socket. Frames after
 * the reply go to `onFrame` as text: this process measures, and must not be the bottleneck, so
 * the hot path reads the few fields it needs without parsing the JSON.
 */
function connectAndJoin(
  url: string,
  ticket: ChannelTicket,
  onFrame: (text: string, at: number) => void,
): Promise<{ ws: WebSocket; repliedAt: number }> {
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
      closed++;
      if (!joined) reject(new Error('closed before the join reply'));
    });
  });
}

const TOKENS_EVENT = ',"tokens",';
const SEQ = /"seq":(\d+)/;
const FIRST_SEQ = /"first_seq":(\d+)/;

async function runPool<T>(items: T[], concurrency: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await run(items[next++] as T);
    }),
  );
}

async function connectAll(url: string, tickets: ChannelTicket[], concurrency: number): Promise<ClientReply> {
  let joined = 0;
  let failed = 0;
  let firstError: string | undefined;
  await runPool(tickets, concurrency, async (ticket) => {
    let lastSeq = -1;
    try {
      const { ws } = await connectAndJoin(url, ticket, (text, at) => {
        if (!text.includes(TOKENS_EVENT)) return;
        frames++;
        const seq = Number(SEQ.exec(text)?.[1]);
        const first = Number(FIRST_SEQ.exec(text)?.[1] ?? seq);
        if (lastSeq !== -1 && first !== lastSeq + 1) seqErrors++;
        lastSeq = seq;
        for (const match of text.matchAll(STAMP)) {
          const producedAt = Number(match[1]);
          if (producedAt < measureFrom || producedAt >= measureUntil) continue;
          tokens++;
          delays.push(at - producedAt);
        }
      });
      sockets.push(ws);
      joined++;
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  });
  setInterval(() => {
    for (const ws of sockets) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify([null, `hb${++heartbeatRef}`, 'phoenix', 'heartbeat', {}]));
    }
  }, HEARTBEAT_MS).unref();
  return { type: 'connected', joined, failed, ...(firstError === undefined ? {} : { firstError }) };
}

/** Join, then time from the join reply to the first `tokens` frame, one channel after another. */
async function firstToken(url: string, tickets: ChannelTicket[], concurrency: number): Promise<ClientReply> {
  const samples = new Samples();
  let missing = 0;
  await runPool(tickets, concurrency, async (ticket) => {
    let resolveFirst: (at: number) => void = () => {};
    const first = new Promise<number>((resolve) => (resolveFirst = resolve));
    try {
      const { ws, repliedAt } = await connectAndJoin(url, ticket, (text, at) => {
        if (text.includes(TOKENS_EVENT)) resolveFirst(at);
      });
      const at = await Promise.race([first, new Promise<number>((resolve) => setTimeout(() => resolve(-1), 5_000))]);
      if (at < 0) missing++;
      else samples.push(at - repliedAt);
      ws.terminate();
    } catch {
      missing++;
    }
  });
  return { type: 'first-token', delays: samples.percentiles(), missing };
}

process.on('message', (raw) => {
  const message = raw as ClientRequest;
  void (async () => {
    switch (message.type) {
      case 'connect':
        send(await connectAll(message.url, message.tickets, message.concurrency));
        break;
      case 'measure':
        delays.clear();
        tokens = 0;
        frames = 0;
        measureFrom = message.from;
        measureUntil = Number.POSITIVE_INFINITY;
        cpuSince = process.cpuUsage();
        wallSince = wallNow();
        send({ type: 'measuring' });
        break;
      case 'report': {
        measureUntil = message.until;
        const cpu = cpuPercent(cpuSince, wallSince);
        // Let tokens produced before `until` but still in flight arrive.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        send({ type: 'report', tokens, frames, delays: delays.percentiles(), seqErrors, cpuPercent: cpu, closed });
        break;
      }
      case 'first-token':
        send(await firstToken(message.url, message.tickets, message.concurrency));
        break;
      case 'exit':
        process.exit(0);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
