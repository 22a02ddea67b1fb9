/**
 * Batching of state notifications. A token stream can change the state
 * hundreds of times a second; a UI only needs to render once per frame, so the
 * client schedules a notification on each change and this module decides when
 * the listeners actually run.
 */
import type { NotifyMode, Timers } from './types.js';

/** Delivers scheduled notifications according to a `NotifyMode`. */
export interface Notifier {
  /** Something changed: deliver according to the mode. */
  schedule(): void;
  /** Deliver a pending notification now (e.g. before a terminal event). */
  flush(): void;
  /** Cancel a pending notification; later `schedule()` calls do nothing. */
  dispose(): void;
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

type Scheduler = { request(run: () => void): unknown; cancel(handle: unknown): void };

function microtaskScheduler(env: NotifierEnv): Scheduler {
  const g = globalThis as { queueMicrotask?: (fn: () => void) => void };
  const queue =
    env.queueMicrotask ??
    (typeof g.queueMicrotask === 'function'
      ? g.queueMicrotask.bind(globalThis)
      : (fn: () => void) => void Promise.resolve().then(fn));
  // A microtask cannot be cancelled: the run checks the pending flag instead.
  return { request: (run) => queue(run), cancel: () => undefined };
}

function frameScheduler(env: NotifierEnv): Scheduler {
  const g = globalThis as {
    requestAnimationFrame?: (fn: () => void) => unknown;
    cancelAnimationFrame?: (h: unknown) => void;
  };
  const raf =
    env.requestAnimationFrame ??
    (typeof g.requestAnimationFrame === 'function' ? g.requestAnimationFrame.bind(globalThis) : undefined);
  if (raf !== undefined) {
    const caf =
      env.cancelAnimationFrame ??
      (typeof g.cancelAnimationFrame === 'function' ? g.cancelAnimationFrame.bind(globalThis) : undefined);
    return { request: (run) => raf(run), cancel: (h) => caf?.(h) };
  }
  return {
    request: (run) => env.timers.setTimeout(run, FRAME_FALLBACK_MS),
    cancel: (h) => env.timers.clearTimeout(h),
  };
}

/**
 * A notifier calling `deliver` according to `mode`:
 * - `'sync'`: at once, on every `schedule()`;
 * - `'microtask'`: once per microtask turn, however many `schedule()` calls;
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
 * notifier.schedule();
 * notifier.schedule(); // still one delivery
 * ```
 */
export function createNotifier(mode: NotifyMode, env: NotifierEnv, deliver: () => void): Notifier {
  let pending = false;
  let disposed = false;

  const deliverSafely = (): void => {
    try {
      deliver();
    } catch {
      // See the JSDoc: deferred deliveries must not throw into the event loop.
    }
  };

  if (typeof mode === 'object' && mode !== null) {
    const intervalMs = mode.intervalMs;
    if (typeof intervalMs === 'number' && Number.isFinite(intervalMs) && intervalMs > 0) {
      return intervalNotifier(intervalMs, env.timers, deliver, deliverSafely);
    }
    mode = 'sync';
  }

  if (mode !== 'microtask' && mode !== 'animationFrame') {
    return {
      schedule: () => {
        if (!disposed) deliver();
      },
      flush: () => undefined,
      dispose: () => {
        disposed = true;
      },
    };
  }

  const scheduler = mode === 'microtask' ? microtaskScheduler(env) : frameScheduler(env);
  let handle: unknown = null;
  let requested = false;

  const run = (): void => {
    requested = false;
    handle = null;
    if (!pending || disposed) return;
    pending = false;
    deliverSafely();
  };

  return {
    schedule: () => {
      if (disposed) return;
      pending = true;
      if (!requested) {
        requested = true;
        handle = scheduler.request(run);
      }
    },
    flush: () => {
      if (!pending || disposed) return;
      pending = false;
      // The scheduled run stays requested and finds nothing pending; cancelling
      // it would let the next schedule() request a second one in the same turn.
      deliver();
    },
    dispose: () => {
      disposed = true;
      pending = false;
      if (requested) scheduler.cancel(handle);
      requested = false;
      handle = null;
    },
  };
}

/** Leading and trailing throttle: at most one delivery per interval, the last change never lost. */
function intervalNotifier(
  intervalMs: number,
  timers: Timers,
  deliver: () => void,
  deliverSafely: () => void,
): Notifier {
  let pending = false;
  let disposed = false;
  let timer: unknown = null;
  let cooling = false;

  const startCooldown = (): void => {
    cooling = true;
    timer = timers.setTimeout(() => {
      cooling = false;
      timer = null;
      if (pending && !disposed) {
        pending = false;
        startCooldown();
        deliverSafely();
      }
    }, intervalMs);
  };

  return {
    schedule: () => {
      if (disposed) return;
      if (cooling) {
        pending = true;
        return;
      }
      startCooldown();
      deliver();
    },
    flush: () => {
      if (!pending || disposed) return;
      pending = false;
      deliver();
    },
    dispose: () => {
      disposed = true;
      pending = false;
      if (cooling) timers.clearTimeout(timer);
      cooling = false;
      timer = null;
    },
  };
}
