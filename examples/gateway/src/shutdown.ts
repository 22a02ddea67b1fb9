/**
 * What `npm run gateway` does on SIGINT/SIGTERM: the first signal starts a clean shutdown; the same
 * signal repeated at once is ignored; a later one means "exit now".
 */

/**
 * A terminal's Ctrl-C reaches every process of the foreground group, and a runner in between (tsx,
 * npm) may pass the same signal on once more: signals this close to the first are the same keypress.
 */
export const SAME_KEYPRESS_MS = 1_000;

/** What {@link createSignalHandler} needs; injected so the policy is tested without a process. */
export interface SignalHandlerDeps {
  /** Monotonic milliseconds, e.g. `performance.now`. */
  now: () => number;
  /** Starts the clean shutdown (once). */
  stop: (signal: NodeJS.Signals) => void;
  /** Leaves at once, without cleaning up. */
  exitNow: () => void;
  sameKeypressMs?: number;
}

/**
 * Creates the listener for SIGINT and SIGTERM.
 *
 * @example
 * ```ts
 * const onSignal = createSignalHandler({ now: () => performance.now(), stop: () => void gw.close(), exitNow: () => process.exit(130) });
 * process.on('SIGINT', onSignal);
 * process.on('SIGTERM', onSignal);
 * ```
 */
export function createSignalHandler(deps: SignalHandlerDeps): (signal: NodeJS.Signals) => void {
  const window = deps.sameKeypressMs ?? SAME_KEYPRESS_MS;
  let firstAt: number | null = null;
  return (signal) => {
    if (firstAt === null) {
      firstAt = deps.now();
      deps.stop(signal);
      return;
    }
    if (deps.now() - firstAt >= window) deps.exitNow();
  };
}
