/**
 * Ctrl-C ends the chatbot demo cleanly: the command `npm run demo` ends with, in a process group
 * of its own, signalled once it prints its URL. It must close its servers and exit 0 (npm then
 * prints no error banner for a normal stop).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const chatbotDir = fileURLToPath(new URL('../', import.meta.url));

describe.skipIf(process.platform === 'win32')('the chatbot demo on Ctrl-C', () => {
  it('prints its URL, then closes its servers and exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/main.ts'], {
      cwd: chatbotDir,
      env: { ...process.env, PORT: '0', NO_COLOR: '1' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let signalled = false;
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (!signalled && output.includes('Ctrl-C to stop')) {
        signalled = true;
        process.kill(-(child.pid as number), 'SIGINT');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    try {
      const [code, signal] = await exited;
      expect(signalled, `the demo never got to serving:\n${output}`).toBe(true);
      expect(output).toMatch(/ModelRiver chatbot\s+http:\/\/127\.0\.0\.1:\d+/);
      expect(output).toContain('stopped');
      expect({ code, signal }).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null) process.kill(-(child.pid as number), 'SIGKILL');
    }
  }, 60_000);
});
