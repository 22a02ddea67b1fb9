/**
 * Gateway nodes as separate OS processes on one Redis, for the multi-node end-to-end tests: each
 * node is `npm run gateway` (src/main.ts) run by test/fixtures/node-process.ts, configured through
 * a shared config file and the environment, and found through the banner it prints. A node can be
 * killed with SIGKILL, stopped with SIGTERM and started again; none outlives the test process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GatewayConfig, RunningGateway } from '../src/gateway.js';
import { killOnExit, releaseDir, removeOnExit, startedOrCleanedUp } from './child-processes.js';

const ENTRY = fileURLToPath(new URL('./fixtures/node-process.ts', import.meta.url));
/** What `node --import tsx` loads (tsx's `.` export), by path: the node's cwd is a temp dir. */
const TSX_LOADER = fileURLToPath(new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url));

/** Bound of one start (spawn until the banner is printed): tsx compiles on a busy machine. */
const START_TIMEOUT_MS = 30_000;
/** Bound of a graceful stop before the node is SIGKILLed (and the stop reported as not graceful). */
const STOP_TIMEOUT_MS = 15_000;
/** How much of a node's output is kept for error messages. */
const OUTPUT_LIMIT = 16_000;

/** Same for every node of every cluster: nodes of one cluster must agree on them. */
export const NODE_API_KEY = 'mr_multinode_test_key';
export const NODE_WEBHOOK_SECRET = 'whsec_bXVsdGlub2RlLXRlc3Qtc2VjcmV0LWtleQ==';

/** Environment variables a node must not inherit from the test run: they would override the config file or add real providers. */
const INHERITED_NOT = /^(MODELRIVER_|OPENAI_|PORT$|HOST$|MOCK_TOKEN_DELAY_MS$)/;

/** Where a started node listens, and who it is. */
interface NodeInfo {
  url: string;
  wsUrl: string;
  projectId: string;
  nodeId: string;
}

/** How a node process ended. */
export interface NodeExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One gateway node process. Its URLs and node id change when it is started again (PORT=0 picks a
 * new port each time).
 */
export class GatewayProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<NodeExit> | undefined;
  private out = '';
  private info: NodeInfo | undefined;

  constructor(
    /** The node's name in error messages (`node 1`). */
    readonly name: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly cwd: string,
  ) {}

  /** `http://127.0.0.1:{port}`. */
  get url(): string {
    return this.started().url;
  }
  /** `ws://127.0.0.1:{port}/socket`. */
  get wsUrl(): string {
    return this.started().wsUrl;
  }
  get projectId(): string {
    return this.started().projectId;
  }
  /** The node id this start printed. */
  get nodeId(): string {
    return this.started().nodeId;
  }
  get apiKey(): string {
    return NODE_API_KEY;
  }
  /** The process id, while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }
  get running(): boolean {
    return this.child !== undefined;
  }
  /** Its stdout and stderr so far (the tail), for error messages. */
  output(): string {
    return this.out;
  }

  /**
   * Spawns the node and resolves once its banner says where it listens; rejects (and kills it)
   * when it exits first or does not get there in time.
   */
  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error(`${this.name} is already running`);
    this.out = '';
    this.info = undefined;
    const child = spawn(process.execPath, ['--import', TSX_LOADER, ENTRY], {
      cwd: this.cwd,
      env: this.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killOnExit(child);
    // The node's stdin is its lifeline (see the fixture); this end must not keep the test process alive.
    (child.stdin as Socket | null)?.unref();
    const exited = new Promise<NodeExit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.child = child;
    this.exited = exited;
    void exited.then(() => {
      if (this.child === child) this.child = undefined;
    });
    let stdout = '';
    let done = false;
    const bannerSeen = new Promise<string | undefined>((resolve) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        this.collect(chunk);
        if (done) return;
        stdout += chunk.toString('utf8');
        const info = parseBanner(stdout);
        if (info === undefined) return;
        done = true;
        if (typeof info === 'string') return resolve(info);
        this.info = info;
        resolve(undefined);
      });
    });
    child.stderr?.on('data', (chunk: Buffer) => this.collect(chunk));
    let timer: NodeJS.Timeout | undefined;
    const failure = await Promise.race([
      bannerSeen,
      exited.then((exit) => `exited (${exit.code ?? exit.signal}) before listening`),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`did not print its banner within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS))),
    ]);
    clearTimeout(timer);
    if (failure === undefined) return;
    await this.kill();
    throw new Error(`${this.name} ${failure}; its output:\n${this.out || '(none)'}`);
  }

  /** `kill -9`: resolves once the process is gone. */
  async kill(): Promise<NodeExit | undefined> {
    const child = this.child;
    if (child === undefined) return undefined;
    child.kill('SIGKILL');
    return (await this.exited) as NodeExit;
  }

  /**
   * Graceful stop (SIGTERM, what a process manager sends) and its exit. A node still there after
   * {@link STOP_TIMEOUT_MS} is SIGKILLed, which the returned exit shows.
   */
  async stop(): Promise<NodeExit | undefined> {
    const child = this.child;
    if (child === undefined) return undefined;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    const exit = (await this.exited) as NodeExit;
    clearTimeout(timer);
    return exit;
  }

  /** Graceful stop, then start again (new port, new node id). */
  async restart(): Promise<NodeExit | undefined> {
    const exit = await this.stop();
    await this.start();
    return exit;
  }

  private started(): NodeInfo {
    if (this.info === undefined) throw new Error(`${this.name} has not started`);
    return this.info;
  }

  private collect(chunk: Buffer): void {
    this.out = (this.out + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  }
}

/**
 * Reads the node's address, project and node id from its banner (src/banner.ts) once all of it is
 * printed; a string says what is wrong with a complete banner.
 */
function parseBanner(text: string): NodeInfo | string | undefined {
  if (!text.includes('Ctrl-C stops.')) return undefined;
  const url = /listening on (http:\/\/\S+)/.exec(text)?.[1];
  const wsUrl = /WebSocket\s+(ws:\/\/\S+)/.exec(text)?.[1];
  const projectId = /project_id\s+(\S+)/.exec(text)?.[1];
  const nodeId = /storage\s+Redis .*, node (\S+)/.exec(text)?.[1];
  if (url === undefined || wsUrl === undefined || projectId === undefined || nodeId === undefined) {
    return 'printed a banner without its URLs, project id or Redis node id (not in Redis mode?)';
  }
  return { url, wsUrl, projectId, nodeId };
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  redisUrl: string;
  /** `redisKeyPrefix` of every node (unique per test). */
  prefix: string;
  /** Nodes started at once. Default 3. */
  count?: number;
  /** More settings for the shared config file (e.g. `webhookRetryScheduleMs`, `mockTokens`). */
  settings?: Partial<GatewayConfig>;
}

/** Nodes sharing one Redis, one config file and one temp dir. */
export interface Cluster {
  nodes: GatewayProcess[];
  /** The shared `MODELRIVER_GATEWAY_CONFIG` file. */
  configFile: string;
  /** Starts every node that is not running, in parallel. */
  startAll(): Promise<void>;
  /** SIGTERM to every running node, in parallel; resolves with their exits once all are gone. */
  stopAll(): Promise<Array<NodeExit | undefined>>;
  /** SIGKILLs whatever still runs and removes the temp dir. Idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `count` gateway processes on one Redis: a config file in a fresh temp dir with
 * `redisKeyPrefix`, `nodeLeaseMs` 800, `mockTokenDelayMs` 15, no effective rate limit, one API key
 * and webhook secret for all; `MODELRIVER_REDIS_URL` and `PORT=0` in their environment.
 *
 * @example
 * ```ts
 * const cluster = await startCluster({ redisUrl: redis().url, prefix: uniquePrefix('mn') });
 * const [a, b] = cluster.nodes;
 * const ack = await startAsync(target(a), 'chat', 'Hello');
 * await a.kill();
 * await cluster.close();
 * ```
 */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'mr-multinode-'));
  removeOnExit(dir);
  const configFile = join(dir, 'gateway.config.json');
  const config: Partial<GatewayConfig> = {
    apiKey: NODE_API_KEY,
    webhookSecret: NODE_WEBHOOK_SECRET,
    redisKeyPrefix: options.prefix,
    nodeLeaseMs: 800,
    mockTokenDelayMs: 15,
    // Tests poll with `until`, from one key on every node: rate limits are not under test here.
    rateLimitCapacity: 1_000_000,
    rateLimitRefillPerSecond: 1_000_000,
    ...options.settings,
  };
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!INHERITED_NOT.test(key)) env[key] = value;
  Object.assign(env, {
    MODELRIVER_REDIS_URL: options.redisUrl,
    MODELRIVER_GATEWAY_CONFIG: configFile,
    PORT: '0',
    HOST: '127.0.0.1',
  });
  const nodes = Array.from({ length: options.count ?? 3 }, (_, i) => new GatewayProcess(`node ${i + 1}`, env, dir));
  let closed = false;
  const cluster: Cluster = {
    nodes,
    configFile,
    startAll: async () => {
      await Promise.all(nodes.filter((n) => !n.running).map((n) => n.start()));
    },
    stopAll: () => Promise.all(nodes.map((n) => n.stop())),
    close: async () => {
      await Promise.all(nodes.map((n) => n.kill()));
      if (closed) return;
      closed = true;
      releaseDir(dir);
    },
  };
  return startedOrCleanedUp(cluster, cluster.startAll, cluster.close);
}

/**
 * The node as the shared e2e helpers (`api`, `startAsync`) take it: they read only its `url`
 * and `apiKey`, both of which a process has.
 *
 * @example
 * ```ts
 * const answer = await api(target(node), `/v1/requests/${id}`);
 * ```
 */
export function target(node: GatewayProcess): RunningGateway {
  return { url: node.url, apiKey: node.apiKey } as Pick<RunningGateway, 'url' | 'apiKey'> as RunningGateway;
}
