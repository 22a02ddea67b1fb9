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
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type {
  ClientReply,
  ClientRequest,
  FirstTokenCase,
  GatewayMode,
  GatewayReply,
  GatewayRequest,
  Percentiles,
} from './channels/shared.js';
import { wallNow } from './channels/shared.js';

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
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    const value = argv[i + 1] ?? '';
    const number = (): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${name} needs a number, got "${value}"`);
      i++;
      return n;
    };
    switch (name) {
      case '--':
        break;
      case '--channels':
        flags.channels = value.split(',').map((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n <= 0) throw new Error(`--channels needs positive integers, got "${value}"`);
          return n;
        });
        i++;
        break;
      case '--seconds':
        flags.seconds = number();
        break;
      case '--warmup':
        flags.warmup = number();
        break;
      case '--rate':
        flags.rate = number();
        break;
      case '--first-token-channels':
        flags.firstTokenChannels = number();
        break;
      case '--hub-only':
        flags.modes = ['hub'];
        break;
      default:
        throw new Error(`unknown flag ${name} (--channels a,b,c --seconds s --warmup s --rate r --first-token-channels n --hub-only)`);
    }
  }
  return flags;
}

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A child process spoken to over IPC, one request and one expected reply type at a time. */
class Child<Request, Reply extends { type: string }> {
  private readonly process: ChildProcess;
  private readonly inbox: Reply[] = [];
  private waiting: { type: string; resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private exited: Error | undefined;

  constructor(script: string, nodeArgs: string[]) {
    // BENCH_GATEWAY_NODE_ARGS / BENCH_CLIENT_NODE_ARGS (e.g. "--cpu-prof") go to the matching child.
    const extra = (script.includes('gateway') ? process.env.BENCH_GATEWAY_NODE_ARGS : process.env.BENCH_CLIENT_NODE_ARGS) ?? '';
    const node = ['--import', import.meta.resolve('tsx'), ...nodeArgs, ...extra.split(' ').filter(Boolean), here(script)].map(quote).join(' ');
    // Through a shell so that the fd limit can be raised; `exec` keeps the IPC channel.
    this.process = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quote(process.execPath)} ${node}`], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (message) => {
      this.inbox.push(message as Reply);
      this.deliver();
    });
    this.process.on('exit', (code, signal) => {
      this.exited = new Error(`${script} exited (${code ?? signal})`);
      this.waiting?.reject(this.exited);
      this.waiting = undefined;
    });
  }

  request<T extends Reply['type']>(message: Request, type: T): Promise<Extract<Reply, { type: T }>> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = { type, resolve: resolve as (reply: Reply) => void, reject };
      this.process.send(message as object);
      this.deliver();
    });
  }

  private deliver(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    const index = this.inbox.findIndex((reply) => reply.type === waiting.type);
    if (index === -1) return;
    const [reply] = this.inbox.splice(index, 1);
    this.waiting = undefined;
    waiting.resolve(reply as Reply);
  }

  /** Asks the child to exit (so that it can flush e.g. a --cpu-prof profile), then makes sure. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.process.send({ type: 'exit' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
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
  const gateway = new Child<GatewayRequest, GatewayReply>('./channels/gateway-process.ts', ['--expose-gc']);
  const clients = new Child<ClientRequest, ClientReply>('./channels/client-process.ts', []);
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
      delays: report.delays,
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
  const gateway = new Child<GatewayRequest, GatewayReply>('./channels/gateway-process.ts', []);
  const clients = new Child<ClientRequest, ClientReply>('./channels/client-process.ts', []);
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

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

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
