/**
 * Child processes and temp directories that test helpers own: whatever is still there when the test
 * process exits is taken down (SIGKILL, rm -rf), so that none outlives the run.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Every child tracked and not seen exiting. */
const live = new Set<ChildProcess>();
/** Temp directories owned and not released yet. */
const ownedDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const running of live) running.kill('SIGKILL');
    for (const dir of ownedDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // Exiting anyway: a directory left in the temp dir is not worth a crash on the way out.
      }
    }
  });
}

/**
 * SIGKILLs `child` if the test process exits while it still runs.
 *
 * @example
 * ```ts
 * const child = spawn(executable, args);
 * killOnExit(child);
 * ```
 */
export function killOnExit(child: ChildProcess): void {
  installExitHook();
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/**
 * Removes `dir` if the test process exits before {@link releaseDir} is called for it.
 *
 * @example
 * ```ts
 * const dir = mkdtempSync(join(tmpdir(), 'mr-redis-'));
 * removeOnExit(dir);
 * // … when done with it:
 * releaseDir(dir);
 * ```
 */
export function removeOnExit(dir: string): void {
  installExitHook();
  ownedDirs.add(dir);
}

/**
 * Takes `dir` off the exit hook's list and removes it now, unless `keep`.
 *
 * @example
 * ```ts
 * releaseDir(dir);                   // gone
 * releaseDir(dir, { keep: true });   // left for a look, no longer removed on exit
 * ```
 */
export function releaseDir(dir: string, options: { keep?: boolean } = {}): void {
  ownedDirs.delete(dir);
  if (options.keep !== true) rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs `start` and resolves with `owner`; when `start` fails, `cleanUp` takes down whatever it left
 * running before the error is rethrown.
 *
 * @example
 * ```ts
 * const server = new ManagedRedis(executable, port, dir);
 * return startedOrCleanedUp(server, () => server.start(), () => server.stop());
 * ```
 */
export async function startedOrCleanedUp<T>(owner: T, start: () => Promise<void>, cleanUp: () => Promise<void>): Promise<T> {
  try {
    await start();
  } catch (error) {
    await cleanUp();
    throw error;
  }
  return owner;
}
