/**
 * The timers the gateway uses, injected so tests can drive time (`vi.useFakeTimers()` replaces the
 * globals, which the default implementation looks up at call time, not at import time).
 */

/**
 * The longest delay `setTimeout` honours. Node clamps anything larger to 1 ms (with a warning),
 * which would turn a long timeout or backoff into one that fires at once; settings are checked
 * against this instead.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** An opaque handle returned by {@link Timers.setTimeout}. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/** setTimeout/clearTimeout, injectable. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The process timers. Handles are `unref()`ed: a pending stall or callback deadline never keeps a
 * process alive on its own (the HTTP server does that).
 *
 * @example
 * ```ts
 * const handle = systemTimers.setTimeout(() => console.log('later'), 100);
 * systemTimers.clearTimeout(handle);
 * ```
 */
export const systemTimers: Timers = {
  setTimeout(callback, ms) {
    const handle = globalThis.setTimeout(callback, ms);
    (handle as { unref?: () => void }).unref?.();
    return handle as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    globalThis.clearTimeout(handle as unknown as ReturnType<typeof globalThis.setTimeout>);
  },
};

/**
 * Resolves after `ms`, or rejects with `signal.reason` as soon as the signal aborts.
 *
 * @example
 * ```ts
 * await sleep(systemTimers, 30, controller.signal);
 * ```
 */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      timers.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
