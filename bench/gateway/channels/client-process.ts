/**
 * Benchmark child: the clients. Opens one `ws` socket per channel, joins, heartbeats every 25 s
 * like a Phoenix client, and on every `tokens` frame reads the production timestamps the gateway
 * embedded in the delta (`t=<ms>;`) to measure production-to-receipt delay. Driven over IPC by
 * bench/channels.ts.
 */
import { joinChannel, type ChannelTicket } from '../common/channel-client.js';
import { ClientSession } from '../common/client-session.js';
import { serveParent } from '../common/parent.js';
import { runPool } from '../common/pool.js';
import { Samples } from '../common/samples.js';
import type { ClientReply, ClientRequest } from './protocol.js';

const TOKENS_EVENT = ',"tokens",';
/** How long a joined channel may take to send its first `tokens` frame before it counts as missing. */
const FIRST_TOKEN_TIMEOUT_MS = 5_000;

const session = new ClientSession();

/** Join, then time from the join reply to the first `tokens` frame, one channel after another. */
async function firstToken(url: string, tickets: ChannelTicket[], concurrency: number): Promise<ClientReply> {
  const samples = new Samples();
  let missing = 0;
  await runPool(tickets, concurrency, async (ticket) => {
    let resolveFirst: (at: number) => void = () => {};
    const first = new Promise<number>((resolve) => (resolveFirst = resolve));
    const onFrame = (text: string, at: number): void => {
      if (text.includes(TOKENS_EVENT)) resolveFirst(at);
    };
    try {
      const { ws, repliedAt } = await joinChannel(url, ticket, onFrame, session.countClose);
      const timeout = new Promise<number>((resolve) => setTimeout(() => resolve(-1), FIRST_TOKEN_TIMEOUT_MS));
      const at = await Promise.race([first, timeout]);
      if (at < 0) missing++;
      else samples.push(at - repliedAt);
      ws.terminate();
    } catch {
      missing++;
    }
  });
  return { type: 'first-token', delays: samples.percentiles(), missing };
}

serveParent<ClientRequest, ClientReply>((request) => {
  if (request.type === 'first-token') return firstToken(request.url, request.tickets, request.concurrency);
  if (request.type === 'exit') process.exit(0);
  return session.answer(request);
});
