/**
 * The gateway's timers with a gate on the mock model's token delay: a test lets a few tokens
 * through, holds the rest while it acts (Stop, a reload, a cut link), then releases them. The
 * stream pauses exactly where the test says, however busy the machine is.
 */
import { systemTimers, type TimerHandle, type Timers } from '../../gateway/src/timers.js';

/** See the module comment. */
export interface TokenGate {
  /** Pass these to `startGateway(…, { timers })`. */
  timers: Timers;
  /** From now on, let `count` more token delays run, then hold every later one. */
  pauseAfter(count: number): void;
  /** Runs the held delays and stops holding. */
  release(): void;
}

interface Held {
  callback: () => void;
  ms: number;
  real?: TimerHandle;
}

/**
 * Gates the timers whose delay is `tokenDelayMs` (use a value nothing else in the gateway uses).
 *
 * @example
 * ```ts
 * const gate = createTokenGate(11);
 * const gw = await startGateway({ port: 0, mockTokenDelayMs: 11 }, { timers: gate.timers });
 * gate.pauseAfter(10); // … ask, act …
 * gate.release();
 * ```
 */
export function createTokenGate(tokenDelayMs: number): TokenGate {
  let allowance = Infinity;
  const queue = new Set<Held>();
  const handles = new WeakSet<object>();
  const run = (held: Held): void => {
    held.real = systemTimers.setTimeout(held.callback, held.ms);
  };
  return {
    timers: {
      setTimeout(callback, ms) {
        if (ms !== tokenDelayMs) return systemTimers.setTimeout(callback, ms);
        const held: Held = { callback, ms };
        handles.add(held);
        if (allowance > 0) {
          allowance--;
          run(held);
        } else {
          queue.add(held);
        }
        return held;
      },
      clearTimeout(handle) {
        if (!handles.has(handle)) return systemTimers.clearTimeout(handle);
        const held = handle as Held;
        queue.delete(held);
        if (held.real !== undefined) systemTimers.clearTimeout(held.real);
      },
    },
    pauseAfter(count) {
      allowance = count;
    },
    release() {
      allowance = Infinity;
      const held = [...queue];
      queue.clear();
      held.forEach(run);
    },
  };
}
