/**
 * Rejoin flood: one socket sends `phx_join` for its channel over and over, as the attack in issue 8
 * did (300,000 joins took the gateway from 94 to 218 MiB before joins revoked their previous resume
 * token). Prints heap and RSS before and after, the bytes per join, and how many tokens are alive.
 *
 *   npx tsx bench/gateway/rejoin-flood.ts [--joins 450000] [--window 256] [--rate-limited]
 *
 * Hub and client share this process (a real loopback socket between them); the client keeps no
 * state per join, so what grows is the hub. By default the join rate limit is lifted so that every
 * join succeeds and mints a token (the worst case for memory); `--rate-limited` keeps the defaults,
 * and most joins are then refused with `rate_limited`.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import { createChannelHub } from '../../examples/gateway/src/channels/index.js';

interface Flags {
  joins: number;
  window: number;
  rateLimited: boolean;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { joins: 450_000, window: 256, rateLimited: false };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const count = (): number => {
      const n = Number(argv[++i]);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} needs a positive integer`);
      return n;
    };
    if (name === '--joins') flags.joins = count();
    else if (name === '--window') flags.window = count();
    else if (name === '--rate-limited') flags.rateLimited = true;
    else throw new Error(`unknown flag ${name} (--joins N, --window N, --rate-limited)`);
  }
  return flags;
}

// Forced collections make before/after comparable; this works without `node --expose-gc`.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Memory {
  heap: number;
  /** Buffers outside the JS heap (socket writes and reads). */
  external: number;
  rss: number;
}

function settle(): Memory {
  for (let i = 0; i < 3; i++) gc();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, external: usage.external, rss: usage.rss };
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** Sends `count` joins, keeping `window` unanswered at a time; resolves with the refused count. */
function flood(ws: WebSocket, topic: string, count: number, window: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answered = 0;
    let refused = 0;
    const send = (): void => {
      sent++;
      ws.send(`["${sent}","${sent}",${JSON.stringify(topic)},"phx_join",{"last_seq":0}]`);
    };
    const onMessage = (data: Buffer): void => {
      const text = data.toString();
      if (!text.includes('"phx_reply"')) return;
      answered++;
      if (text.includes('"status":"error"')) refused++;
      if (answered === count) {
        ws.off('message', onMessage);
        resolve(refused);
      } else if (sent < count) send();
    };
    ws.on('message', onMessage);
    ws.once('close', (code) => reject(new Error(`socket closed (${code}) after ${answered} replies`)));
    for (let i = 0; i < Math.min(window, count); i++) send();
  });
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const hub = createChannelHub({
    projectId: randomUUID(),
    ...(flags.rateLimited ? {} : { joinBurst: Number.MAX_SAFE_INTEGER, joinsPerSecond: 1e9 }),
  });
  const server = createServer((_req, res) => res.writeHead(404).end());
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const channelId = randomUUID();
  const channel = hub.open(channelId, { onCancel: () => {} });
  channel.publish('status', { status: 'processing' });
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket/websocket?token=${await hub.issueToken(channelId)}&vsn=2.0.0`, {
    perMessageDeflate: false,
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });

  // Warm up (JIT, buffers, the token maps' first growth) before the baseline.
  await flood(ws, channel.topic, Math.min(2_000, flags.joins), flags.window);
  const before = settle();
  const started = performance.now();
  const refused = await flood(ws, channel.topic, flags.joins, flags.window);
  const seconds = (performance.now() - started) / 1000;
  const after = settle();
  const stats = hub.stats();

  console.log(
    `rejoin flood: ${flags.joins} joins on one socket in ${seconds.toFixed(1)} s ` +
      `(${Math.round(flags.joins / seconds)}/s), window ${flags.window}, ` +
      `${flags.rateLimited ? 'default join rate limit' : 'join rate limit lifted'}`,
  );
  console.log(`refused: ${refused} (hub counts ${stats.rateLimitedJoins ?? 0} rate_limited)`);
  console.log(`live tokens after: ${stats.tokens}`);
  console.log(`heap: ${mib(before.heap)} → ${mib(after.heap)} (${mib(after.heap - before.heap)})`);
  console.log(`external: ${mib(before.external)} → ${mib(after.external)} (${mib(after.external - before.external)})`);
  // RSS also holds what the allocator keeps after a peak of in-flight frames; heap and external
  // are what the hub still references.
  console.log(`rss:  ${mib(before.rss)} → ${mib(after.rss)} (${mib(after.rss - before.rss)})`);
  console.log(`heap bytes per join: ${((after.heap - before.heap) / flags.joins).toFixed(2)}`);

  ws.terminate();
  await hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
