/**
 * Event throughput and CPU cost per event of three consumers of the same stream:
 * a bare `ws` + JSON.parse client (baseline), the official `phoenix` client, and
 * `ModelRiverClient`. The gateway runs in a child process; each run uses a new
 * channel; the order rotates every round; medians are reported.
 *
 *   npx tsx bench/client/events.ts [--events 100000] [--rounds 5] [--only bare,phoenix,modelriver]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

/** Our client, `ws` injected, no persistence. */
const modelriver: Consumer = async (ready) => {
  const { ModelRiverClient } = await import('../../packages/client/src/index.js');
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

const CONSUMERS: Record<string, Consumer> = { bare, phoenix, modelriver };

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
    eventsPerSec: median(runs.map((r) => r.events / r.seconds)),
    cpuPerEvent: median(runs.map((r) => r.cpuMicros / r.events)),
  };
});
const anchor = (n: string) => rows.find((r) => r.name === n);
const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}x` : '-');

console.log(`\nevents: ${EVENTS} tokens (~4 chars) + 1 response per run, rounds: ${ROUNDS}, medians; gateway in a child process`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
const header = ['client', 'events/s', 'CPU µs/event', 'events/s vs phoenix', 'events/s vs bare', 'CPU vs phoenix', 'CPU vs bare'];
const table = rows.map((r) => [
  r.name,
  Math.round(r.eventsPerSec).toLocaleString('en-US'),
  r.cpuPerEvent.toFixed(2),
  ratio(r.eventsPerSec, anchor('phoenix')?.eventsPerSec),
  ratio(r.eventsPerSec, anchor('bare')?.eventsPerSec),
  ratio(r.cpuPerEvent, anchor('phoenix')?.cpuPerEvent),
  ratio(r.cpuPerEvent, anchor('bare')?.cpuPerEvent),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
console.log(line(header));
for (const row of table) console.log(line(row));
