/**
 * Benchmark child: the clients. One `ws` socket per channel, joined, heartbeating every 25 s like a
 * Phoenix client; every `tokens` frame's deltas carry the time each token was due (`t=<ms>;`), and
 * receipt minus that is the delivery latency (one machine, one clock). Driven over IPC by run.ts.
 */
import { WebSocket } from 'ws';
import { cpuMsSince, Samples, wallNow, type ChannelTicket, type ClientReply, type ClientRequest } from './protocol.js';

const STAMP = /t=(\d+(?:\.\d+)?);/g;
const TOKENS_EVENT = ',"tokens",';
const SEQ = /"seq":(\d+)/;
const FIRST_SEQ = /"first_seq":(\d+)/;
const HEARTBEAT_MS = 25_000;

const sockets: WebSocket[] = [];
const latency = new Samples();
let measureFrom = Number.POSITIVE_INFINITY;
let measureUntil = Number.POSITIVE_INFINITY;
let tokens = 0;
let frames = 0;
let seqErrors = 0;
let closed = 0;
let cpuSince = process.cpuUsage();
let heartbeatRef = 0;

function send(message: ClientReply): void {
  process.send?.(message);
}

/**
 * Connects and joins; frames after the join reply go to `onFrame` as text. This process measures
 * and must not be the bottleneck, so the hot path reads the few fields it needs without JSON.parse.
 */
function connectAndJoin(url: string, ticket: ChannelTicket, onFrame: (text: string, at: number) => void): Promise<WebSocket> {
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
        else resolve(ws);
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

async function connectAll(url: string, tickets: ChannelTicket[], concurrency: number): Promise<ClientReply> {
  let joined = 0;
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const joinOne = async (ticket: ChannelTicket): Promise<void> => {
    let lastSeq = -1;
    try {
      const ws = await connectAndJoin(url, ticket, (text, at) => {
        if (!text.includes(TOKENS_EVENT)) return;
        frames++;
        const seq = Number(SEQ.exec(text)?.[1]);
        // A merged frame (a socket that fell behind) starts at `first_seq`.
        const first = Number(FIRST_SEQ.exec(text)?.[1] ?? seq);
        if (lastSeq !== -1 && first !== lastSeq + 1) seqErrors++;
        lastSeq = seq;
        for (const match of text.matchAll(STAMP)) {
          const dueAt = Number(match[1]);
          if (dueAt < measureFrom || dueAt >= measureUntil) continue;
          tokens++;
          latency.push(at - dueAt);
        }
      });
      sockets.push(ws);
      joined++;
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, tickets.length) }, async () => {
      while (next < tickets.length) await joinOne(tickets[next++] as ChannelTicket);
    }),
  );
  setInterval(() => {
    for (const ws of sockets) {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify([null, `hb${++heartbeatRef}`, 'phoenix', 'heartbeat', {}]));
    }
  }, HEARTBEAT_MS).unref();
  return { type: 'connected', joined, failed, ...(firstError === undefined ? {} : { firstError }) };
}

process.on('message', (raw) => {
  const message = raw as ClientRequest;
  void (async () => {
    switch (message.type) {
      case 'connect':
        send(await connectAll(message.url, message.tickets, message.concurrency));
        break;
      case 'measure':
        latency.clear();
        tokens = 0;
        frames = 0;
        measureFrom = message.from;
        measureUntil = Number.POSITIVE_INFINITY;
        cpuSince = process.cpuUsage();
        send({ type: 'measuring' });
        break;
      case 'report': {
        measureUntil = message.until;
        const cpuMs = cpuMsSince(cpuSince);
        // Tokens due before `until` may still be on their way: let them arrive.
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        send({ type: 'report', tokens, frames, latency: latency.percentiles(), seqErrors, closed, cpuMs });
        break;
      }
      case 'exit':
        for (const ws of sockets) ws.terminate();
        process.exit(0);
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
