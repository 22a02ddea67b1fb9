/**
 * Gateway benchmark, one node in memory against two nodes on one Redis (issue 12).
 *
 *   npx tsx bench/gateway/multinode/run.ts [--channels 2000 --rate 20 --seconds 20 --warmup 3]
 *
 * The same scenario runs twice in one run: N channels, each streaming `--rate` tokens/s, one joined
 * WebSocket client per channel. (A) one node with the hub in its memory; (B) two nodes on one
 * redis-server, the channels run on node 1 and every client joined on node 2, so every token
 * crosses Redis. Each node and the clients are child processes, so CPU is measured per process.
 * Figures are printed side by side, with Redis / memory ratios and the targets as PASS or
 * FAIL lines (figures, not assertions). See README.md next to this file for what each one means.
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg, totalmem } from 'node:os';
import { relative } from 'node:path';
import { connectRedis, type RedisClient } from '../../../examples/gateway/src/store/redis.js';
import { findRedisServer, startRedisServer, type RedisServer } from '../../../examples/gateway/test/redis.helpers.js';
import { Child } from '../common/child.js';
import { wallNow } from '../common/clock.js';
import { readFlags, type FlagValue } from '../common/flags.js';
import { table } from '../common/table.js';
import { diffCalls, parseCommandStats, totalCalls, type CommandCalls } from './command-stats.js';
import type { ClientReply, ClientRequest, NodeReply, NodeRequest, NodeStore, Percentiles } from './protocol.js';

type NodeChild = Child<NodeRequest, NodeReply>;
type NodeReport = Extract<NodeReply, { type: 'report' }>;
type ClientReport = Extract<ClientReply, { type: 'report' }>;

const FSYNC_POLICIES = ['always', 'everysec', 'no'] as const;
type FsyncPolicy = (typeof FSYNC_POLICIES)[number];

interface Flags {
  channels: number;
  rate: number;
  seconds: number;
  warmup: number;
  joinConcurrency: number;
  appendfsync: FsyncPolicy;
}

const USAGE = '--channels n --rate tokens/s --seconds s --warmup s --join-concurrency n --appendfsync always|everysec|no';

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { channels: 2000, rate: 20, seconds: 20, warmup: 3, joinConcurrency: 64, appendfsync: 'everysec' };
  const positive = (value: FlagValue): number => value.number((n) => n > 0, 'a positive number');
  const positiveInteger = (value: FlagValue): number => value.number((n) => n > 0 && Number.isInteger(n), 'a positive integer');
  readFlags(
    argv,
    {
      '--channels': (value) => (flags.channels = positiveInteger(value)),
      '--rate': (value) => (flags.rate = positive(value)),
      '--seconds': (value) => (flags.seconds = positive(value)),
      '--warmup': (value) => (flags.warmup = value.number((n, text) => n > 0 || text === '0', 'a positive number')),
      '--join-concurrency': (value) => (flags.joinConcurrency = positiveInteger(value)),
      '--appendfsync': (value) => {
        const text = value.text();
        if (!(FSYNC_POLICIES as readonly string[]).includes(text)) throw new Error(`--appendfsync needs always, everysec or no, got "${text}"`);
        flags.appendfsync = text as FsyncPolicy;
      },
    },
    USAGE,
  );
  return flags;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What one setup measured. */
interface SetupResult {
  name: string;
  joined: number;
  failedJoins: number;
  firstJoinError?: string;
  windowMs: number;
  clients: ClientReport;
  /** Per node, in the order [producer, socket node]; one entry when one node does both. */
  nodes: Array<{ label: string; report: NodeReport }>;
  rssPerSocket: number;
  heapPerSocket: number;
  /** redis-server in the window: calls (INFO commandstats, the benchmark's own INFO left out) and CPU. */
  server?: { calls: CommandCalls; cpuMs: number };
}

/** Calls per command and the main thread's CPU (user + system, ms) of redis-server so far. */
async function readServerStats(stats: RedisClient): Promise<{ calls: CommandCalls; cpuMs: number }> {
  const [commandstats, cpu] = await Promise.all([stats.info('commandstats'), stats.info('cpu')]);
  const seconds = (field: string): number => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? Number.NaN);
  return { calls: parseCommandStats(commandstats), cpuMs: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000 };
}

/** Children and servers to take down if the run is interrupted. */
const running = new Set<{ kill(): void }>();

async function runSetup(store: NodeStore | undefined, flags: Flags, stats: RedisClient | undefined): Promise<SetupResult> {
  const redis = store?.kind === 'redis';
  // BENCH_NODE_ARGS (e.g. "--cpu-prof") goes to every gateway node.
  const nodeArgs = ['--expose-gc', ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)];
  const nodeScript = new URL('./node-process.ts', import.meta.url);
  const producer: NodeChild = new Child(nodeScript, redis ? 'node 1 (runs the channels)' : 'node', nodeArgs);
  const sockets: NodeChild = redis ? new Child(nodeScript, 'node 2 (serves the sockets)', nodeArgs) : producer;
  const clients = new Child<ClientRequest, ClientReply>(new URL('./client-process.ts', import.meta.url), 'clients');
  const children = redis ? [producer, sockets, clients] : [producer, clients];
  for (const child of children) running.add(child);
  const nodes = redis ? [producer, sockets] : [producer];
  try {
    const nodeStore: NodeStore = store ?? { kind: 'memory' };
    const ready = await producer.request({ type: 'setup', store: nodeStore, open: flags.channels, serve: !redis }, 'ready');
    const served = redis ? await sockets.request({ type: 'setup', store: nodeStore, open: 0, serve: true }, 'ready') : ready;
    const before = await sockets.request({ type: 'memory' }, 'memory');
    const url = `ws://127.0.0.1:${served.port}/socket/websocket`;
    const connected = await clients.request({ type: 'connect', url, tickets: ready.tickets, concurrency: flags.joinConcurrency }, 'connected');
    if (connected.failed > 0) console.warn(`  ${connected.failed} joins failed, first: ${connected.firstError}`);
    // Let the join replies and replays drain before the idle snapshot.
    await sleep(500);
    const idle = await sockets.request({ type: 'memory' }, 'memory');
    const joined = Math.max(1, idle.sockets);

    await producer.request({ type: 'start', tokensPerSecond: flags.rate }, 'started');
    await sleep(flags.warmup * 1000);

    // Redis's counters are read alongside the nodes' so that both cover (nearly) the same window.
    const from = wallNow();
    const [statsBefore] = await Promise.all([
      stats ? readServerStats(stats) : undefined,
      ...nodes.map((node) => node.request({ type: 'measure' }, 'measuring')),
      clients.request({ type: 'measure', from }, 'measuring'),
    ]);
    await sleep(flags.seconds * 1000);
    const until = wallNow();
    const [statsAfter, ...reports] = await Promise.all([
      stats ? readServerStats(stats) : undefined,
      ...nodes.map((node) => node.request({ type: 'report' }, 'report')),
    ]);
    const clientReport = await clients.request({ type: 'report', until }, 'report');
    await producer.request({ type: 'stop' }, 'stopped');

    let server: SetupResult['server'];
    if (statsBefore && statsAfter) {
      const calls = diffCalls(statsBefore.calls, statsAfter.calls);
      calls.delete('info');
      server = { calls, cpuMs: statsAfter.cpuMs - statsBefore.cpuMs };
    }
    return {
      name: redis ? 'Redis, 2 nodes' : 'memory, 1 node',
      joined: connected.joined,
      failedJoins: connected.failed,
      ...(connected.firstError === undefined ? {} : { firstJoinError: connected.firstError }),
      windowMs: until - from,
      clients: clientReport,
      nodes: nodes.map((node, i) => ({ label: node.label, report: reports[i] as NodeReport })),
      rssPerSocket: (idle.rss - before.rss) / joined,
      heapPerSocket: (idle.heapUsed - before.heapUsed) / joined,
      ...(server ? { server } : {}),
    };
  } finally {
    await Promise.all(children.map((child) => child.close()));
    for (const child of children) running.delete(child);
  }
}

// ---- printing -------------------------------------------------------------------------------

const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const ms = (n: number): string => (!Number.isFinite(n) ? 'n/a' : n < 10 ? n.toFixed(2) : n.toFixed(1));
const kb = (bytes: number): string => fixed(bytes / 1024, 1);
const ratio = (b: number | undefined, a: number | undefined): string =>
  a === undefined || b === undefined || !(a > 0) || !Number.isFinite(b / a) ? '' : `${(b / a).toFixed(2)}×`;

/** µs of CPU per token the clients received. */
const perEvent = (cpuMs: number, r: SetupResult): number => (cpuMs * 1000) / r.clients.tokens;
const published = (r: SetupResult): number => (r.nodes[0] as { report: NodeReport }).report.published;
const nodeCalls = (r: SetupResult): number => r.nodes.reduce((sum, node) => sum + totalCalls(node.report.redisCommands), 0);

function breakdown(calls: CommandCalls | Record<string, number>, tokens: number): string {
  const entries = calls instanceof Map ? [...calls] : Object.entries(calls);
  return entries
    .sort((x, y) => y[1] - x[1])
    .map(([name, count]) => `${name} ${count} (${fixed(count / tokens, 4)}/token)`)
    .join(', ');
}

function report(flags: Flags, a: SetupResult, b: SetupResult | undefined): void {
  type Row = [label: string, a: string, b: string, ratio: string];
  const row = (label: string, get: (r: SetupResult) => number, format: (n: number) => string): Row => {
    const va = get(a);
    const vb = b ? get(b) : undefined;
    return [label, format(va), vb === undefined ? '' : format(vb), ratio(vb, va)];
  };
  const lat = (key: keyof Percentiles) => (r: SetupResult) => r.clients.latency[key];
  const cpuOf = (index: number) => (r: SetupResult) => {
    // (A): the one node does both jobs, shown on both lines.
    const node = r.nodes[Math.min(index, r.nodes.length - 1)] as { report: NodeReport };
    return perEvent(node.report.cpuMs, r);
  };
  const rows: Row[] = [
    ['', a.name, b?.name ?? '(no redis-server)', 'Redis / memory'],
    row('sockets joined', (r) => r.joined, String),
    row('tokens/s offered', () => flags.channels * flags.rate, String),
    row('tokens/s delivered', (r) => (r.clients.tokens / r.windowMs) * 1000, (n) => n.toFixed(0)),
    row('latency p50 ms', lat('p50'), ms),
    row('latency p95 ms', lat('p95'), ms),
    row('latency p99 ms', lat('p99'), ms),
    row('latency max ms', lat('max'), ms),
    row('CPU µs/event, node running the channels', cpuOf(0), (n) => fixed(n, 2)),
    row('CPU µs/event, node serving the sockets', cpuOf(1), (n) => fixed(n, 2)),
    row('CPU µs/event, all nodes', (r) => perEvent(r.nodes.reduce((s, n) => s + n.report.cpuMs, 0), r), (n) => fixed(n, 2)),
    row('CPU µs/event, redis-server', (r) => (r.server ? perEvent(r.server.cpuMs, r) : Number.NaN), (n) => (Number.isNaN(n) ? '' : fixed(n, 2))),
    row('CPU µs/event, clients', (r) => perEvent(r.clients.cpuMs, r), (n) => fixed(n, 2)),
    row('CPU %, node running the channels', (r) => ((r.nodes[0]?.report.cpuMs ?? 0) / r.windowMs) * 100, (n) => n.toFixed(0)),
    row('CPU %, node serving the sockets', (r) => ((r.nodes.at(-1)?.report.cpuMs ?? 0) / r.windowMs) * 100, (n) => n.toFixed(0)),
    row('event loop p99 ms, worst node', (r) => Math.max(...r.nodes.map((n) => n.report.loopDelayP99Ms)), ms),
    row('idle KB/socket (RSS)', (r) => r.rssPerSocket, kb),
    row('idle KB/socket (heapUsed)', (r) => r.heapPerSocket, kb),
    row('seq gaps + failed joins + closed', (r) => r.clients.seqErrors + r.failedJoins + r.clients.closed, String),
    row('node errors', (r) => r.nodes.reduce((s, n) => s + n.report.errors, 0), String),
  ];
  if (b?.server) {
    const tokens = published(b);
    const evalsha = (b.server.calls.get('evalsha') ?? 0) + (b.server.calls.get('eval') ?? 0);
    rows.push(
      ['Redis calls/token, all server-side', '', fixed(totalCalls(b.server.calls) / tokens, 3), ''],
      ['Redis calls/token, sent by the nodes', '', fixed(nodeCalls(b) / tokens, 4), ''],
      ['script calls (write batches) per s', '', fixed((evalsha / b.windowMs) * 1000, 0), ''],
      ['tokens per write batch', '', fixed(tokens / evalsha, 1), ''],
    );
  }
  console.log(table(rows));

  for (const r of [a, b]) {
    if (r === undefined) continue;
    for (const node of r.nodes) {
      if (node.report.errors > 0) console.log(`${r.name}, ${node.label}: ${node.report.errors} errors, first: ${node.report.firstError}`);
    }
    if (r.firstJoinError !== undefined) console.log(`${r.name}: first failed join: ${r.firstJoinError}`);
  }
  if (b?.server) {
    const tokens = published(b);
    console.log();
    console.log(`Redis commands in the ${(b.windowMs / 1000).toFixed(1)} s window, ${tokens} tokens published:`);
    console.log(`  server-side (INFO commandstats, scripts' commands included): ${breakdown(b.server.calls, tokens)}`);
    for (const node of b.nodes) console.log(`  sent by ${node.label}: ${breakdown(node.report.redisCommands, tokens) || 'none'}`);
  }

  console.log();
  console.log('targets (issue 12):');
  if (b === undefined) {
    console.log('  Redis mode adds ≤ 10 ms at p95: not measured (no redis-server)');
    console.log('  Redis commands per token < 1: not measured (no redis-server)');
    return;
  }
  const added = b.clients.latency.p95 - a.clients.latency.p95;
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  console.log(`  Redis mode adds ≤ 10 ms at p95: ${ms(b.clients.latency.p95)} − ${ms(a.clients.latency.p95)} = ${ms(added)} ms → ${verdict(added <= 10)}`);
  if (b.server) {
    const tokens = published(b);
    const all = totalCalls(b.server.calls) / tokens;
    const sent = nodeCalls(b) / tokens;
    console.log(`  Redis commands per token < 1, all server-side: ${fixed(all, 3)} → ${verdict(all < 1)}`);
    console.log(`  Redis commands per token < 1, sent by the nodes: ${fixed(sent, 4)} → ${verdict(sent < 1)}`);
  }
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const script = relative(process.cwd(), process.argv[1] ?? 'bench/gateway/multinode/run.ts');
  const cores = cpus();
  console.log(`command: npx tsx ${[script, ...process.argv.slice(2)].join(' ')}`);
  console.log(
    `${flags.channels} channels × ${flags.rate} tokens/s, one joined socket each; ${flags.seconds} s measured after ${flags.warmup} s warm-up`,
  );
  // Other work on the machine skews every figure: compare the two setups of one run.
  console.log(
    `node ${process.version}, ${process.platform}/${process.arch}, ${cores.length} × ${cores[0]?.model.trim() ?? 'cpu'}, ` +
      `${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );

  const executable = findRedisServer();
  console.log(`- (A) one node, hub in memory…`);
  const a = await runSetup(undefined, flags, undefined);

  let b: SetupResult | undefined;
  if (executable === undefined) {
    console.log('redis-server not found (PATH or /usr/bin/redis-server): (B) two nodes on Redis skipped; install it with apt-get install redis-server');
  } else {
    let server: RedisServer | undefined;
    let stats: RedisClient | undefined;
    const stopServer = { kill: () => void server?.kill() };
    running.add(stopServer);
    try {
      server = await startRedisServer({ executable });
      stats = await connectRedis(server.url, 'mr-bench-stats');
      await stats.config('SET', 'appendfsync', flags.appendfsync);
      const version = /redis_version:(\S+)/.exec(await stats.info('server'))?.[1] ?? '?';
      console.log(`- (B) two nodes on redis-server ${version} (127.0.0.1, appendonly yes, appendfsync ${flags.appendfsync})…`);
      b = await runSetup({ kind: 'redis', url: server.url, prefix: `mrbench:${randomUUID()}:` }, flags, stats);
    } finally {
      stats?.disconnect();
      await server?.stop();
      running.delete(stopServer);
    }
  }

  console.log();
  report(flags, a, b);
  console.log();
  console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const target of running) target.kill();
    process.exit(130);
  });
}

main().catch((error: unknown) => {
  console.error(error);
  for (const target of running) target.kill();
  process.exitCode = 1;
});
