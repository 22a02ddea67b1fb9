/**
 * A real redis-server for the gateway's Redis suites: one throwaway server per block on a free
 * loopback port with its own temp directory, that a test can SIGKILL and start again to prove a
 * restart loses nothing. Without redis-server a suite is skipped with one line on a laptop and
 * fails under CI, like the browser tests (tests/browser/browser-harness.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killOnExit, releaseDir, removeOnExit, startedOrCleanedUp } from './child-processes.js';

/** Where Debian's `redis-server` package puts the server, used when it is not on PATH. */
export const REDIS_SERVER_FALLBACK = '/usr/bin/redis-server';

const MISSING_REASON =
  `redis-server not found on PATH or at ${REDIS_SERVER_FALLBACK}: install it with ` +
  '`apt-get update && apt-get install -y redis-server` (.ci/run does this on CI)';

/** Bound of one start (spawn until it answers PING). */
const START_TIMEOUT_MS = 10_000;
/** Bound of a graceful stop before the server is SIGKILLed. */
const STOP_TIMEOUT_MS = 10_000;
/** Starts tried when the port is briefly busy on a restart. */
const START_ATTEMPTS = 5;
/** How much of the server's output an error quotes. */
const OUTPUT_LIMIT = 4_000;

// Captured at load: a test may install fake timers and then restart the server, and the harness's
// own waits must still run on the real clock.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

/** A running (or killed) redis-server owned by one test block. */
export interface RedisServer {
  /** `redis://127.0.0.1:{port}`. */
  url: string;
  port: number;
  /** The server's working directory (its append-only files). */
  dir: string;
  /** SIGKILL the server (data since the last fsync may be lost; appendfsync always keeps it all). */
  kill(): Promise<void>;
  /** Start it again on the same port and directory (after kill/stop). */
  start(): Promise<void>;
  /** Graceful shutdown (SIGTERM: Redis flushes its append-only file and exits), then remove the temp dir unless `keep`. */
  stop(options?: { keep?: boolean }): Promise<void>;
}

/** Whether to run the Redis suites, skip them (no redis-server here) or fail (no redis-server on CI). */
export type RedisAvailability = { run: true; executable: string } | { run: false; fail: boolean; reason: string };

/**
 * Finds an executable `redis-server`: the first one on `env.PATH`, else {@link REDIS_SERVER_FALLBACK}.
 *
 * @example
 * ```ts
 * findRedisServer(process.env); // '/usr/bin/redis-server', or undefined when it is not installed
 * ```
 */
export function findRedisServer(
  env: Record<string, string | undefined> = process.env,
  isExecutable: (path: string) => boolean = isExecutableFile,
): string | undefined {
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const candidate of [...dirs.map((dir) => join(dir, 'redis-server')), REDIS_SERVER_FALLBACK]) {
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Decides what to do about the Redis suites on this machine.
 *
 * @example
 * ```ts
 * const availability = redisAvailability(process.env, () => findRedisServer());
 * if (!availability.run && availability.fail) throw new Error(availability.reason);
 * ```
 */
export function redisAvailability(
  env: Record<string, string | undefined> = process.env,
  which: () => string | undefined = () => findRedisServer(env),
): RedisAvailability {
  const found = which();
  if (found !== undefined) return { run: true, executable: found };
  // A CI run that silently skips every Redis suite would pass for the wrong reason.
  return { run: false, fail: env.CI !== undefined && env.CI !== '' && env.CI !== 'false', reason: MISSING_REASON };
}

/**
 * A key prefix no other test uses, so suites can share one redis-server without seeing each other's keys.
 *
 * @example
 * ```ts
 * uniquePrefix('hub'); // 'mrtest:hub:3f2a9c0d1b7e:'
 * ```
 */
export function uniquePrefix(label?: string): string {
  const id = randomBytes(6).toString('hex');
  return label === undefined || label === '' ? `mrtest:${id}:` : `mrtest:${label}:${id}:`;
}

/** Options for {@link startRedisServer}; the defaults suit every test. */
export interface StartRedisOptions {
  /** The redis-server to run; found with {@link findRedisServer} when absent. */
  executable?: string;
}

/**
 * Starts a redis-server on a free port of 127.0.0.1 with a fresh temp directory, append-only
 * persistence fsynced on every write, and no RDB snapshots; resolves once it answers PING.
 *
 * @example
 * ```ts
 * const redis = await startRedisServer();
 * const client = new Redis(redis.url);
 * await redis.kill();  // commands now fail
 * await redis.start(); // same port, same data
 * await redis.stop();  // and the temp dir is gone
 * ```
 */
export async function startRedisServer(options: StartRedisOptions = {}): Promise<RedisServer> {
  const executable = options.executable ?? findRedisServer();
  if (executable === undefined) throw new Error(MISSING_REASON);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'mr-redis-'));
  const server = new ManagedRedis(executable, port, dir);
  return startedOrCleanedUp(server, () => server.start(), () => server.stop());
}

/**
 * `describe(name, body)` against one redis-server started for the block (beforeAll) and stopped
 * after it (afterAll). Without redis-server: one console.warn line and the block is skipped, or,
 * under CI, one failing test that says how to install it.
 *
 * @example
 * ```ts
 * describeWithRedis('the Redis event log', (redis) => {
 *   it('keeps events across a restart', async () => {
 *     const client = new Redis(redis().url);
 *     // …
 *   });
 * });
 * ```
 */
export function describeWithRedis(name: string, body: (redis: () => RedisServer) => void): void {
  const availability = redisAvailability();
  if (!availability.run) {
    if (availability.fail) {
      describe(name, () => {
        it('has redis-server to run against (required on CI)', () => {
          expect.fail(availability.reason);
        });
      });
      return;
    }
    console.warn(`[${name}] skipped: ${availability.reason}`);
  }
  describe.skipIf(!availability.run)(name, () => {
    let server: RedisServer | undefined;
    beforeAll(async () => {
      if (availability.run) server = await startRedisServer({ executable: availability.executable });
    }, START_TIMEOUT_MS * 3);
    // Registered first, so it runs after the body's own afterAll hooks have closed their clients.
    afterAll(async () => {
      await server?.stop();
      server = undefined;
    }, STOP_TIMEOUT_MS * 2);
    body(() => {
      if (server === undefined) throw new Error(`[${name}] the Redis server is not running: call redis() inside a hook or test`);
      return server;
    });
  });
}

class ManagedRedis implements RedisServer {
  readonly url: string;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private output = '';

  constructor(
    private readonly executable: string,
    readonly port: number,
    readonly dir: string,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    removeOnExit(dir);
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error(`redis-server on port ${this.port} is already running`);
    let lastError: Error | undefined;
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (error) {
        lastError = error as Error;
        // Only a busy port is worth another try (a killed server's socket, another process);
        // anything else (a bad binary, a broken config) fails the same way every time.
        if (!/address already in use/i.test(lastError.message)) throw lastError;
        await realDelay(100 * attempt);
      }
    }
    throw lastError ?? new Error('redis-server did not start');
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.stopWatchdog();
    const exited = exitOf(child);
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  async stop(options: { keep?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (child !== undefined) {
      this.stopWatchdog();
      const exited = exitOf(child);
      child.kill('SIGTERM');
      const timer = realSetTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      realClearTimeout(timer);
      this.child = undefined;
    }
    releaseDir(this.dir, options);
  }

  private async startOnce(): Promise<void> {
    this.output = '';
    const child = spawn(
      this.executable,
      [
        '--port', String(this.port),
        '--bind', '127.0.0.1',
        '--dir', this.dir,
        '--appendonly', 'yes',
        '--appendfsync', 'always',
        '--save', '',
        '--daemonize', 'no',
        '--protected-mode', 'no',
        '--loglevel', 'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    killOnExit(child);
    // Redis logs to stdout (a failed bind included), so both streams make up "its output".
    const collect = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = exitOf(child);
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    try {
      await spawned;
    } catch (error) {
      throw new Error(`could not run ${this.executable}: ${(error as Error).message}`);
    }
    this.child = child;
    this.watchdog = startWatchdog(child.pid, this.dir);
    // A server that dies on its own (a crash, a kill from outside) can be started again.
    child.once('exit', () => {
      if (this.child !== child) return;
      this.stopWatchdog();
      this.child = undefined;
    });

    const failure = await waitUntilAnswering(this.port, exited, START_TIMEOUT_MS);
    if (failure === undefined) return;
    await this.kill();
    const output = this.output.trim();
    throw new Error(`redis-server on 127.0.0.1:${this.port} ${failure}; its output:\n${output === '' ? '(none)' : output}`);
  }

  private stopWatchdog(): void {
    // Before the server goes: a watchdog that outlived it could kill a process that reused its pid.
    this.watchdog?.kill('SIGKILL');
    this.watchdog = undefined;
  }
}

/**
 * A shell that kills the server and removes its directory when this process's end of its stdin
 * pipe closes. The kernel closes that pipe however this process ends, SIGKILL included, which no
 * 'exit' handler sees (vitest ends a worker with SIGTERM, then SIGKILL).
 */
function startWatchdog(pid: number | undefined, dir: string): ChildProcess | undefined {
  if (pid === undefined) return undefined;
  const script = 'while read -r _; do :; done; kill -9 "$1" 2>/dev/null; rm -rf "$2"';
  const watchdog = spawn('/bin/sh', ['-c', script, 'redis-watchdog', String(pid), dir], { stdio: ['pipe', 'ignore', 'ignore'] });
  // Best effort: without /bin/sh the 'exit' handler still covers a normal exit.
  watchdog.on('error', () => {});
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return watchdog;
}

/** Resolves when `child` has exited (at once if it already has). */
function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** PINGs the port until it answers PONG; returns why it did not (exited, timed out), or undefined. */
async function waitUntilAnswering(port: number, exited: Promise<void>, timeoutMs: number): Promise<string | undefined> {
  let done: string | undefined;
  void exited.then(() => {
    done ??= 'exited before answering PING';
  });
  const timer = realSetTimeout(() => {
    done ??= `did not answer PING within ${timeoutMs} ms`;
  }, timeoutMs);
  try {
    while (done === undefined) {
      // A server still loading its append-only file answers -LOADING: keep asking.
      // Something else may hold the port and accept without answering: stop asking once the server is gone.
      const reply = await Promise.race([ping(port), exited.then(() => '')]);
      if (reply === '+PONG') return undefined;
      if (done !== undefined) break;
      await Promise.race([realDelay(25), exited]);
    }
    return done;
  } finally {
    realClearTimeout(timer);
  }
}

/** One inline PING: the server's first reply line, or '' when it could not be reached. */
function ping(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    const finish = (line: string): void => {
      realClearTimeout(timer);
      socket.destroy();
      resolve(line);
    };
    const timer = realSetTimeout(() => finish(''), 1_000);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end !== -1) finish(reply.slice(0, end));
    });
    socket.on('error', () => finish(''));
    socket.on('close', () => finish(reply));
  });
}

/** A port of 127.0.0.1 that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function realDelay(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
