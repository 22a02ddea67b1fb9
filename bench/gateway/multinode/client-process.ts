/**
 * Benchmark child: the clients. One `ws` socket per channel, joined, heartbeating every 25 s like a
 * Phoenix client; every `tokens` frame's deltas carry the time each token was due (`t=<ms>;`), and
 * receipt minus that is the delivery latency (one machine, one clock). Driven over IPC by run.ts.
 */
import { ClientSession } from '../common/client-session.js';
import { serveParent } from '../common/parent.js';
import type { ClientReply, ClientRequest } from './protocol.js';

const session = new ClientSession();

serveParent<ClientRequest, ClientReply>((request) => {
  if (request.type !== 'exit') return session.answer(request);
  session.terminate();
  process.exit(0);
});
