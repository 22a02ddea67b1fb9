/**
 * The real executable, `src/cli.ts` in one node process with tsx's loader (so a signal reaches
 * it, not a wrapper): killed with SIGKILL and started again, no delivery is lost or doubled; exit
 * codes reach the shell.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../../../examples/gateway/src/gateway.js';

const cliDir = fileURLToPath(new URL('..', import.meta.url));

let gw: RunningGateway | undefined;
let target: Server | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  target?.closeAllConnections();
  await new Promise<void>((resolve) => (target ? target.close(() => resolve()) : resolve()));
  await gw?.close();
});

function spawnCli(args: string[], env: Record<string, string>): { child: ChildProcess; line: (re: RegExp) => Promise<string>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: cliDir, env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  let buffer = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (buffer + chunk).split('\n');
    buffer = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      for (const w of [...waiters]) if (w.re.test(l)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(l));
    }
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    line: (re) => {
      const found = lines.find((l) => re.test(l));
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
    exit,
  };
}

it('listen killed with SIGKILL and restarted: the delivery made meanwhile arrives, once', async () => {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0, mockTokens: 4, // Retries every 100 ms for longer than the test may run, so a slow restart on a busy machine
  // never turns into a dead letter: only the listener's readiness decides when it arrives.
  webhookRetryScheduleMs: Array(1000).fill(100) });
  const bodies: string[] = [];
  target = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      bodies.push(body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => target!.listen(0, '127.0.0.1', () => resolve()));
  const env = { MODELRIVER_API_KEY: gw.apiKey, MODELRIVER_BASE_URL: gw.url };
  const forwardTo = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;

  const first = spawnCli(['listen', '--forward-to', forwardTo], env);
  await first.line(/^Ready!/);
  first.child.kill('SIGKILL');
  await first.exit;

  const ack = (await (
    await fetch(`${gw.url}/v1/ai/async`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' }),
    })
  ).json()) as { channel_id: string };

  const second = spawnCli(['listen', '--forward-to', forwardTo], env);
  await second.line(/^task\.completed\s+evt_\w+\s+200 /);
  expect(bodies.map((b) => (JSON.parse(b) as { channel_id: string }).channel_id)).toEqual([ack.channel_id]);
  second.child.kill('SIGINT');
  expect(await second.exit).toBe(0);
});

it('a bad flag exits 2 from the real process', async () => {
  const run = spawnCli(['trigger', '--workflow', 'chat', '--payload', '{'], { MODELRIVER_API_KEY: 'mr_test_local', MODELRIVER_BASE_URL: 'http://127.0.0.1:9' });
  expect(await run.exit).toBe(2);
});
