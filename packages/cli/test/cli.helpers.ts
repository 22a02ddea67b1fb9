/**
 * Runs `modelriver` in-process with captured output, and lets a test await an output line.
 */
import { run, type CliEnvironment } from '../src/program.js';

/** A run in progress: its output so far, a way to await a line, and its exit code. */
export interface CliRun {
  stdout: string[];
  stderr: string[];
  /** Resolves with the first stdout (or stderr) line matching, already printed or still to come. */
  line(match: RegExp | ((line: string) => boolean), stream?: 'stdout' | 'stderr'): Promise<string>;
  /** Ctrl-C. */
  stop(): void;
  exit: Promise<number>;
}

/**
 * Starts `modelriver <argv>` with the given environment (no process.env leaks in).
 *
 * @example
 * ```ts
 * const cli = startCli(['workflows'], { MODELRIVER_API_KEY: gw.apiKey, MODELRIVER_BASE_URL: gw.url });
 * expect(await cli.exit).toBe(0);
 * ```
 */
export function startCli(argv: string[], env: Record<string, string | undefined>, extra: Partial<CliEnvironment> = {}): CliRun {
  const controller = new AbortController();
  const lines = { stdout: [] as string[], stderr: [] as string[] };
  const partial = { stdout: '', stderr: '' };
  const waiters: Array<{ test: (l: string) => boolean; stream: 'stdout' | 'stderr'; resolve: (l: string) => void }> = [];
  const write = (stream: 'stdout' | 'stderr') => (text: string) => {
    const parts = (partial[stream] + text).split('\n');
    partial[stream] = parts.pop() ?? '';
    for (const line of parts) {
      lines[stream].push(line);
      for (const waiter of [...waiters]) {
        if (waiter.stream === stream && waiter.test(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  const exit = run(argv, { ...extra, env, stdout: write('stdout'), stderr: write('stderr'), isTTY: false, signal: controller.signal }).then((code) => {
    for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) write(stream)('\n');
    return code;
  });
  return {
    ...lines,
    line(match, stream = 'stdout') {
      const test = typeof match === 'function' ? match : (l: string) => match.test(l);
      const found = lines[stream].find(test);
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ test, stream, resolve }));
    },
    stop: () => controller.abort(),
    exit,
  };
}
