/**
 * Gateway channel benchmark: many concurrent streaming channels, one socket each.
 *
 *   pnpm --filter @modelriver/example-gateway bench -- --channels 1000,2000,5000 --seconds 15
 *
 * Two child processes, as in a deployment: the gateway (channel hub + a publisher emitting
 * `--rate` tokens/s per channel) and the clients (`ws`), so each gets one of the two cores. Every
 * figure is also measured, in the same run, for the anchor `bare-ws`: a plain `ws` server that
 * writes the same frames with no tokens, log, replay or flow control. Ratios are hub / bare-ws.
 *
 * Measured: tokens/s delivered; production-to-receipt delay p50/p99 (the gateway stamps
 * `t=<ms>;` into each delta, the client compares on receipt: same machine, same clock); memory per
 * idle joined socket (gateway RSS and JS heap delta after forced GCs, divided by N); and the time
 * from the join reply to the first `tokens` frame (events already logged → replay; generation
 * starting at join with a 0 ms provider → live).
 *
 * Each child raises its soft fd limit to the hard limit; N channels need N + ~100 descriptors per
 * process (`ulimit -Hn` must allow it).
 */
import { cpus, loadavg } from 'node:os';
import type {
  ClientReply,
  ClientRequest,
  FirstTokenCase,
  GatewayMode,
  GatewayReply,
  GatewayRequest,
  Percentiles,
} from './channels/protocol.js';
import { Child } from './common/child.js';
import { wallNow } from './common/clock.js';
import { readFlags, type FlagValue } from './common/flags.js';
import { table } from './common/table.js';

interface Flags {
  channels: number[];
  seconds: number;
  warmup: number;
  rate: number;
  modes: GatewayMode[];
  firstTokenChannels: number;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = {
    channels: [1000, 2000, 5000],
    seconds: 15,
    warmup: 3,
    rate: 20,
    modes: ['bare-ws', 'hub'],
    firstTokenChannels: 300,
  };
  const number = (value: FlagValue): number => value.number((n) => n >= 0, 'a number');
  readFlags(
    argv,
    {
      '--channels': (value) => {
        const text = value.text();
        flags.channels = text.split(',').map((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n <= 0) throw new Error(`--channels needs positive integers, got "${text}"`);
          return n;
        });
      },
      '--seconds': (value) => (flags.seconds = number(value)),
      '--warmup': (value) => (flags.warmup = number(value)),
      '--rate': (value) => (flags.rate = number(value)),
      '--first-token-channels': (value) => (flags.firstTokenChannels = number(value)),
      '--hub-only': () => (flags.modes = ['hub']),
    },
    '--channels a,b,c --seconds s --warmup s --rate r --first-token-channels n --hub-only',
  );
  return flags;
}

/** BENCH_GATEWAY_NODE_ARGS / BENCH_CLIENT_NODE_ARGS (e.g. "--cpu-prof") go to the matching child. */
const extraArgs = (variable: 'BENCH_GATEWAY_NODE_ARGS' | 'BENCH_CLIENT_NODE_ARGS'): string[] =>
  (process.env[variable] ?? '').split(' ').filter(Boolean);

function gatewayChild(nodeArgs: string[]): Child<GatewayRequest, GatewayReply> {
  return new Child(new URL('./channels/gateway-process.ts', import.meta.url), 'gateway', [...nodeArgs, ...extraArgs('BENCH_GATEWAY_NODE_ARGS')]);
}

function clientsChild(): Child<ClientRequest, ClientReply> {
  return new Child(new URL('./channels/client-process.ts', import.meta.url), 'clients', extraArgs('BENCH_CLIENT_NODE_ARGS'));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface StreamResult {
  mode: GatewayMode;
  channels: number;
  offered: number;
  delivered: number;
  delays: Percentiles;
  rssPerSocket: number;
  heapPerSocket: number;
  gatewayCpu: number;
  clientCpu: number;
  loopDelayP99Ms: number;
  seqErrors: number;
  failed: number;
  closed: number;
}

async function streamScenario(mode: GatewayMode, channels: number, flags: Flags): Promise<StreamResult> {
  const gateway = gatewayChild(['--expose-gc']);
  const clients = clientsChild();
  try {
    const ready = await gateway.request({ type: 'setup', mode, channels, prefillTokens: 0 }, 'ready');
    const before = await gateway.request({ type: 'memory' }, 'memory');
    const url = `ws://127.0.0.1:${ready.port}/socket/websocket`;
    const connected = await clients.request({ type: 'connect', url, tickets: ready.tickets, concurrency: 64 }, 'connected');
    if (connected.failed > 0) console.warn(`  ${connected.failed} joins failed, first: ${connected.firstError}`);
    await sleep(500);
    const idle = await gateway.request({ type: 'memory' }, 'memory');

    await gateway.request({ type: 'start', tokensPerSecond: flags.rate }, 'started');
    await sleep(flags.warmup * 1000);
    const from = wallNow();
    await clients.request({ type: 'measure', from }, 'measuring');
    await sleep(flags.seconds * 1000);
    const until = wallNow();
    const reported = clients.request({ type: 'report', until }, 'report');
    await sleep(1_000);
    const stopped = await gateway.request({ type: 'stop' }, 'stopped');
    const report = await reported;
    const joined = Math.max(1, idle.sockets);
    return {
      mode,
      channels,
      offered: channels * flags.rate,
      delivered: (report.tokens / (until - from)) * 1000,
      delays: report.latency,
      rssPerSocket: (idle.rss - before.rss) / joined,
      heapPerSocket: (idle.heapUsed + idle.external - before.heapUsed - before.external) / joined,
      gatewayCpu: stopped.cpuPercent,
      clientCpu: report.cpuPercent,
      loopDelayP99Ms: stopped.loopDelayP99Ms,
      seqErrors: report.seqErrors,
      failed: connected.failed,
      closed: report.closed,
    };
  } finally {
    await Promise.all([gateway.close(), clients.close()]);
  }
}

interface FirstTokenResult {
  mode: GatewayMode;
  case: FirstTokenCase;
  delays: Percentiles;
  missing: number;
}

async function firstTokenScenario(mode: GatewayMode, which: FirstTokenCase, flags: Flags): Promise<FirstTokenResult> {
  const gateway = gatewayChild([]);
  const clients = clientsChild();
  try {
    const channels = flags.firstTokenChannels;
    const prefillTokens = which === 'replay' ? 20 : 0;
    const ready = await gateway.request({ type: 'setup', mode, channels, prefillTokens, firstToken: which }, 'ready');
    const url = `ws://127.0.0.1:${ready.port}/socket/websocket`;
    const result = await clients.request({ type: 'first-token', url, tickets: ready.tickets, concurrency: 1 }, 'first-token');
    return { mode, case: which, delays: result.delays, missing: result.missing };
  } finally {
    await Promise.all([gateway.close(), clients.close()]);
  }
}

const ms = (n: number): string => (Number.isNaN(n) ? 'n/a' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);
const ratio = (a: number, b: number): string => (b > 0 && Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  console.log(
    `channels bench: ${flags.channels.join(', ')} channels × ${flags.rate} tokens/s, ${flags.seconds} s measured after ${flags.warmup} s warm-up; anchor bare-ws`,
  );
  // Other work on the machine skews every figure; the anchor, measured alongside, is the reference.
  console.log(`node ${process.version}, ${cpus().length} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  const streams: StreamResult[] = [];
  for (const channels of flags.channels) {
    for (const mode of flags.modes) {
      console.log(`- ${mode}, ${channels} channels…`);
      streams.push(await streamScenario(mode, channels, flags));
    }
  }
  console.log();
  console.log(
    table([
      ['gateway', 'channels', 'tokens/s offered', 'delivered', 'p50 ms', 'p99 ms', 'max ms', 'idle KB/socket (rss)', 'KB/socket (heap+ext)', 'gateway CPU %', 'client CPU %', 'loop p99 ms', 'seq errors'],
      ...streams.map((r) => [
        r.mode,
        String(r.channels),
        String(r.offered),
        r.delivered.toFixed(0),
        ms(r.delays.p50),
        ms(r.delays.p99),
        ms(r.delays.max),
        kb(r.rssPerSocket),
        kb(r.heapPerSocket),
        r.gatewayCpu.toFixed(0),
        r.clientCpu.toFixed(0),
        ms(r.loopDelayP99Ms),
        String(r.seqErrors + r.failed),
      ]),
    ]),
  );

  const ratioRows: string[][] = [];
  for (const channels of flags.channels) {
    const hub = streams.find((r) => r.mode === 'hub' && r.channels === channels);
    const bare = streams.find((r) => r.mode === 'bare-ws' && r.channels === channels);
    if (hub === undefined || bare === undefined) continue;
    ratioRows.push([
      String(channels),
      ratio(hub.delivered, bare.delivered),
      ratio(hub.delays.p50, bare.delays.p50),
      ratio(hub.delays.p99, bare.delays.p99),
      ratio(hub.rssPerSocket, bare.rssPerSocket),
      ratio(hub.heapPerSocket, bare.heapPerSocket),
      ratio(hub.gatewayCpu, bare.gatewayCpu),
    ]);
  }
  if (ratioRows.length > 0) {
    console.log();
    console.log('hub / bare-ws (same run):');
    console.log(table([['channels', 'delivered', 'p50', 'p99', 'rss/socket', 'heap/socket', 'gateway CPU'], ...ratioRows]));
  }

  const firsts: FirstTokenResult[] = [];
  if (flags.firstTokenChannels > 0) {
    for (const mode of flags.modes) {
      for (const which of ['replay', 'live'] as const) firsts.push(await firstTokenScenario(mode, which, flags));
    }
    console.log();
    console.log(`first token after the join reply (${flags.firstTokenChannels} joins, one at a time):`);
    const anchorOf = (r: FirstTokenResult) => firsts.find((a) => a.mode === 'bare-ws' && a.case === r.case);
    console.log(
      table([
        ['gateway', 'case', 'p50 ms', 'p99 ms', 'max ms', 'missing', 'p50 vs bare-ws'],
        ...firsts.map((r) => [
          r.mode,
          r.case,
          ms(r.delays.p50),
          ms(r.delays.p99),
          ms(r.delays.max),
          String(r.missing),
          r.mode === 'hub' && anchorOf(r) ? ratio(r.delays.p50, anchorOf(r)!.delays.p50) : '',
        ]),
      ]),
    );
  }

  const target = streams.find((r) => r.mode === 'hub' && r.channels === 2000);
  const hubRuns = streams.filter((r) => r.mode === 'hub');
  console.log();
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('targets:');
  if (target) {
    console.log(`  2000 channels × 20 tokens/s, p99 < 100 ms: ${ms(target.delays.p99)} ms → ${target.delays.p99 < 100 ? 'met' : 'MISSED'}`);
  }
  if (hubRuns.length > 0) {
    const worst = Math.max(...hubRuns.map((r) => r.rssPerSocket));
    console.log(`  ≤ 20 KB per idle socket (rss, worst run): ${kb(worst)} KB → ${worst <= 20 * 1024 ? 'met' : 'MISSED'}`);
  }
  for (const r of firsts.filter((f) => f.mode === 'hub')) {
    console.log(`  first token ≤ 5 ms p50 (${r.case}): ${ms(r.delays.p50)} ms → ${r.delays.p50 <= 5 ? 'met' : 'MISSED'}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
