/**
 * Event throughput and CPU cost per event of three consumers of the same stream:
 * a bare `ws` + JSON.parse client (baseline), the official `phoenix` client, and
 * `ModelRiverClient`. The gateway runs in a child process; each run uses a new
 * channel; the order rotates every round; medians are reported.
 *
 *   npx tsx bench/client/events.ts [--events 100000] [--rounds 5] [--only bare,phoenix,modelriver]
 *     [--baseline <client src dir, or a built index.js>]   (adds `baseline`: that client, in the same run)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Socket } from 'phoenix';
import WebSocket from 'ws';
import type { ChannelReady } from './gateway-process.js';

interface RunResult {
  events: number;
  seconds: number;
  cpuMicros: number;
}

type Consumer = (ready: ChannelReady) => Promise<number>;

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const EVENTS = Number(flag('events', '100000'));
const ROUNDS = Number(flag('rounds', '5'));
const ONLY = flag('only', 'bare,phoenix,modelriver').split(',');

/** Baseline: parse every frame, count `tokens`, stop at `response`. */
const bare: Consumer = (ready) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${ready.websocketUrl}/websocket?token=${ready.wsToken}&vsn=2.0.0`);
    let count = 0;
    ws.on('open', () => ws.send(JSON.stringify(['1', '1', ready.topic, 'phx_join', {}])));
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as [string | null, string | null, string, string, unknown];
      if (frame[3] === 'tokens') count += 1;
      else if (frame[3] === 'response') {
        ws.close();
        resolve(count);
      }
    });
    ws.on('error', reject);
  });

/** The official Phoenix client, with `ws` as its transport. */
const phoenix: Consumer = (ready) =>
  new Promise((resolve, reject) => {
    const socket = new Socket(ready.websocketUrl, { transport: WebSocket, params: { token: ready.wsToken } });
    socket.onError(() => reject(new Error('phoenix socket error')));
    socket.connect();
    const channel = socket.channel(ready.topic, {});
    let count = 0;
    channel.on('tokens', () => {
      count += 1;
    });
    channel.on('response', () => {
      socket.disconnect();
      resolve(count);
    });
    channel.join().receive('error', (e: unknown) => reject(new Error(`join failed: ${JSON.stringify(e)}`)));
  });

type ClientModule = typeof import('../../packages/client/src/index.js');

/** `ModelRiverClient` from `entry`, `ws` injected, no persistence. */
const ourClient =
  (entry: string): Consumer =>
  async (ready) => {
    const { ModelRiverClient } = (await import(entry)) as ClientModule;
    return new Promise((resolve, reject) => {
      const client = new ModelRiverClient({ WebSocket, persist: false });
      let count = 0;
      client.on('tokens', () => {
        count += 1;
      });
      client.on('response', () => {
        client.destroy();
        resolve(count);
      });
      client.on('error', (e) => reject(e));
      client.connect({ channelId: ready.channelId, wsToken: ready.wsToken, websocketUrl: ready.websocketUrl, websocketChannel: ready.topic });
    });
  };

/** Our client as it is now. */
const modelriver = ourClient('../../packages/client/src/index.js');

const CONSUMERS: Record<string, Consumer> = { bare, phoenix, modelriver };
// `--baseline <dir or file>`: also measure the client in another source tree (e.g. a checkout
// of an earlier commit's packages/client/src) or a built file (packages/client/dist/index.js)
// in the same run, as `baseline`.
const BASELINE = flag('baseline', '');
if (BASELINE !== '') {
  const entry = /\.[cm]?[jt]s$/.test(BASELINE) ? BASELINE : `${BASELINE}/index.ts`;
  CONSUMERS.baseline = ourClient(pathToFileURL(resolvePath(entry)).href);
  if (!ONLY.includes('baseline')) ONLY.push('baseline');
}

function startGateway(): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL('./gateway-process.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`gateway process exited with ${code}`)));
  });
}

function newChannel(child: ChildProcess, events: number): Promise<ChannelReady> {
  return new Promise((resolve) => {
    child.once('message', (m: ChannelReady) => resolve(m));
    child.send({ type: 'channel', events });
  });
}

async function measure(child: ChildProcess, consume: Consumer): Promise<RunResult> {
  const ready = await newChannel(child, EVENTS);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const events = await consume(ready);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  if (events !== EVENTS) throw new Error(`expected ${EVENTS} tokens events, got ${events}`);
  return { events, seconds, cpuMicros: used.user + used.system };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const names = Object.keys(CONSUMERS).filter((n) => ONLY.includes(n));
const child = await startGateway();
const results: Record<string, RunResult[]> = Object.fromEntries(names.map((n) => [n, []]));
// Warm-up: one small run each so JIT and connection setup do not land in round 1.
const fullEvents = EVENTS;
for (const name of names) {
  const consume = CONSUMERS[name];
  if (!consume) continue;
  const ready = await newChannel(child, Math.min(fullEvents, 5_000));
  await consume(ready);
}
for (let round = 0; round < ROUNDS; round += 1) {
  const order = names.map((_, i) => names[(i + round) % names.length] ?? '');
  for (const name of order) {
    const consume = CONSUMERS[name];
    if (consume) results[name]?.push(await measure(child, consume));
  }
}
child.disconnect();

const rows = names.map((name) => {
  const runs = results[name] ?? [];
  return {
    name,
    runs,
    eventsPerSec: median(runs.map((r) => r.events / r.seconds)),
    cpuPerEvent: median(runs.map((r) => r.cpuMicros / r.events)),
  };
});
const anchor = (n: string) => rows.find((r) => r.name === n);
/**
 * Median of the per-round ratios: each round measures every client once, back to back,
 * so a ratio within a round cancels the slow drifts of a shared machine better than a
 * ratio of medians taken over all rounds.
 */
const paired = (of: (typeof rows)[number], to: string, value: (r: RunResult) => number): string => {
  const anchorRuns = anchor(to)?.runs;
  if (!anchorRuns) return '-';
  return `${median(of.runs.map((r, i) => value(r) / value(anchorRuns[i] as RunResult))).toFixed(2)}x`;
};
const rate = (r: RunResult): number => r.events / r.seconds;
const cpu = (r: RunResult): number => r.cpuMicros / r.events;

console.log(`\nevents: ${EVENTS} tokens (~4 chars) + 1 response per run, rounds: ${ROUNDS}, medians; gateway in a child process`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}; ratios are medians of per-round ratios\n`);
const header = ['client', 'events/s', 'CPU µs/event', 'events/s vs phoenix', 'events/s vs bare', 'CPU vs phoenix', 'CPU vs bare'];
const table = rows.map((r) => [
  r.name,
  Math.round(r.eventsPerSec).toLocaleString('en-US'),
  r.cpuPerEvent.toFixed(2),
  paired(r, 'phoenix', rate),
  paired(r, 'bare', rate),
  paired(r, 'phoenix', cpu),
  paired(r, 'bare', cpu),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
console.log(line(header));
for (const row of table) console.log(line(row));
