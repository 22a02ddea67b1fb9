import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createSignalHandler, SAME_KEYPRESS_MS } from '../src/shutdown.js';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const TSX_BIN = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const TSX_LOADER = fileURLToPath(new URL('../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let cwd: string | undefined;
let running: ChildProcess | undefined;
afterEach(() => {
  if (running && running.exitCode === null && running.signalCode === null) running.kill('SIGKILL');
  running = undefined;
  if (cwd) rmSync(cwd, { recursive: true, force: true });
  cwd = undefined;
});

/** Starts the gateway as `npm run gateway` does (a free port, no config file) and resolves once it is listening. */
async function startMain(command: string, args: string[], options: { detached?: boolean } = {}): Promise<Started> {
  cwd = mkdtempSync(join(tmpdir(), 'gateway-main-'));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
  delete env['MODELRIVER_GATEWAY_CONFIG'];
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  running = child;
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ctrl-C stops')) resolve();
    });
    void exited.then(({ code }) => reject(new Error(`gateway exited (${code}) before listening: ${err}`)));
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

describe('main.ts (npm run gateway) on Ctrl-C', () => {
  it('shuts down cleanly with exit 0 and nothing on stderr when the whole process group gets SIGINT', async () => {
    const gw = await startMain(TSX_BIN, [MAIN], { detached: true });
    process.kill(-gw.child.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(gw.stderr()).toBe('');
    expect(gw.stdout()).toContain('SIGINT received, shutting down');
  });

  it('shuts down cleanly on SIGTERM', async () => {
    const gw = await startMain(process.execPath, ['--import', TSX_LOADER, MAIN]);
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toEqual({ code: 0, signal: null });
    expect(gw.stderr()).toBe('');
  });
});

describe('the signal policy', () => {
  function setup() {
    let clock = 0;
    const calls: string[] = [];
    const onSignal = createSignalHandler({ now: () => clock, stop: (s) => calls.push(`stop:${s}`), exitNow: () => calls.push('exit-now') });
    return { onSignal, calls, advance: (ms: number) => (clock += ms) };
  }

  it('stops once, and ignores the same signal repeated at once (a terminal and a runner both passing on one Ctrl-C)', () => {
    const { onSignal, calls, advance } = setup();
    onSignal('SIGINT');
    advance(30); // tsx relays a signal its child has not acknowledged within 30 ms
    onSignal('SIGINT');
    advance(SAME_KEYPRESS_MS - 31);
    onSignal('SIGTERM');
    expect(calls).toEqual(['stop:SIGINT']);
  });

  it('exits at once on a second Ctrl-C that comes later', () => {
    const { onSignal, calls, advance } = setup();
    onSignal('SIGINT');
    advance(SAME_KEYPRESS_MS);
    onSignal('SIGINT');
    expect(calls).toEqual(['stop:SIGINT', 'exit-now']);
  });
});
