/**
 * Batching of state notifications. A token stream can change the state
 * hundreds of times a second; a UI only needs to render once per frame, so the
 * client schedules a notification on each change and this module decides when
 * the listeners actually run.
 */
import { isRecord } from './events.js';
import type { NotifyMode, Timers } from './types.js';

/** Delivers scheduled notifications according to a `NotifyMode`. */
export interface Notifier {
  /** Something changed: deliver according to the mode. */
  _schedule(): void;
  /** Deliver a pending notification now (e.g. before a terminal event). */
  _flush(): void;
  /** Cancel a pending notification; later `_schedule()` calls do nothing. */
  _dispose(): void;
}

/** Where no `requestAnimationFrame` exists (Node, workers), a frame is this long. */
const FRAME_FALLBACK_MS = 16;

/** Environment the notifier runs in; missing functions fall back to the globals. */
export interface NotifierEnv {
  timers: Timers;
  queueMicrotask?: (fn: () => void) => void;
  requestAnimationFrame?: (fn: () => void) => unknown;
  cancelAnimationFrame?: (h: unknown) => void;
}

/**
 * A notifier calling `deliver` according to `mode`:
 * - `'sync'`: at once, on every `_schedule()`;
 * - `'microtask'`: once per microtask turn, however many `_schedule()` calls;
 * - `'animationFrame'`: once per frame (`requestAnimationFrame`, else a 16 ms timer);
 *   note that browsers pause frames in background tabs, so delivery waits for the tab;
 * - `{ intervalMs }`: at most once per interval: the first change is delivered at
 *   once, later ones at the end of the interval, and the last change is always
 *   delivered. A non-positive or non-finite interval, or an unknown mode, acts as `'sync'`.
 *
 * In the deferred modes, an exception thrown by `deliver` is swallowed so that a
 * timer or microtask never crashes the process: `deliver` should catch its
 * listeners' exceptions itself.
 *
 * @example
 * ```ts
 * const notifier = createNotifier('microtask', { timers: { setTimeout, clearTimeout } }, () =>
 *   listeners.forEach((l) => l(getState())),
 * );
 * notifier._schedule();
 * notifier._schedule(); // still one delivery
 * ```
 */
export function createNotifier(mode: NotifyMode, env: NotifierEnv, deliver: () => void): Notifier {
  const g = globalThis as {
    queueMicrotask?: (fn: () => void) => void;
    requestAnimationFrame?: (fn: () => void) => unknown;
    cancelAnimationFrame?: (h: unknown) => void;
  };
  const timers = env.timers;
  const interval = isRecord(mode) && Number.isFinite(mode.intervalMs) && mode.intervalMs > 0 ? mode.intervalMs : 0;
  // How a deferred delivery is requested and cancelled; none for 'sync'.
  let request: ((run: () => void) => unknown) | null = null;
  let cancel = (handle: unknown): void => timers.clearTimeout(handle);
  if (interval > 0) request = (run) => timers.setTimeout(run, interval);
  else if (mode === 'microtask') {
    // A microtask cannot be cancelled: the run checks the pending flag instead.
    request = env.queueMicrotask ?? g.queueMicrotask?.bind(g) ?? ((run) => void Promise.resolve().then(run));
    cancel = () => undefined;
  } else if (mode === 'animationFrame') {
    const raf = env.requestAnimationFrame ?? g.requestAnimationFrame?.bind(g);
    if (raf !== undefined) {
      request = raf;
      cancel = (handle) => (env.cancelAnimationFrame ?? g.cancelAnimationFrame?.bind(g))?.(handle);
    } else request = (run) => timers.setTimeout(run, FRAME_FALLBACK_MS);
  }
  let pending = false;
  let disposed = false;
  let requested = false;
  let handle: unknown = null;

  const run = (): void => {
    requested = false;
    if (!pending || disposed) return;
    pending = false;
    // An interval restarts its cool-down with each delivery (leading and trailing throttle).
    if (interval > 0) arm();
    try {
      deliver();
    } catch {
      // See the JSDoc: deferred deliveries must not throw into the event loop.
    }
  };
  const arm = (): void => {
    requested = true;
    handle = (request as (run: () => void) => unknown)(run);
  };

  return {
    _schedule: () => {
      if (disposed) return;
      if (request === null) return deliver();
      if (interval > 0 && !requested) {
        // The first change of a quiet interval is delivered at once.
        arm();
        return deliver();
      }
      pending = true;
      if (!requested) arm();
    },
    _flush: () => {
      if (!pending || disposed) return;
      pending = false;
      // A scheduled run stays requested and finds nothing pending; cancelling
      // it would let the next _schedule() request a second one in the same turn.
      deliver();
    },
    _dispose: () => {
      disposed = true;
      pending = false;
      if (requested) cancel(handle);
      requested = false;
    },
  };
}
