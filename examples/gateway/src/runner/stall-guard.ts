/**
 * Guards a provider stream: a provider that stays silent longer than the stall timeout (before the
 * first chunk or between two) fails with `provider_stalled`, and an abort ends the wait at once even
 * if the provider ignores its signal.
 */
import { ProviderError } from '../providers/provider.js';
import type { Timers } from '../timers.js';

/** Options of {@link guardStream}. */
export interface GuardOptions {
  stallTimeoutMs: number;
  timers: Timers;
  /** Aborting it rejects the pending wait with the signal's reason. */
  signal: AbortSignal;
  /** Called when the stall timeout fires (the runner aborts the provider there). */
  onStall?: () => void;
}

/**
 * Re-yields `source`'s items, failing with a `provider_stalled` ProviderError after
 * `stallTimeoutMs` without one.
 *
 * @example
 * ```ts
 * for await (const chunk of guardStream(provider.stream(request), { stallTimeoutMs: 10_000, timers, signal })) {
 *   handle(chunk);
 * }
 * ```
 */
export async function* guardStream<T>(source: AsyncIterable<T>, options: GuardOptions): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  try {
    while (true) {
      const result = await nextWithin(iterator, options);
      if (result.done) return;
      yield result.value;
    }
  } finally {
    // Not awaited: a stalled provider may never settle its pending next().
    try {
      void iterator.return?.()?.catch(() => undefined);
    } catch {
      // A provider whose return() throws has nothing left to clean up for us.
    }
  }
}

function nextWithin<T>(iterator: AsyncIterator<T>, options: GuardOptions): Promise<IteratorResult<T>> {
  const { signal, timers, stallTimeoutMs } = options;
  return new Promise<IteratorResult<T>>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => settle(() => reject(signal.reason));
    const timer = timers.setTimeout(() => {
      settle(() => reject(new ProviderError('provider_stalled', `no output from the provider for ${stallTimeoutMs} ms`)));
      options.onStall?.();
    }, stallTimeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<IteratorResult<T>>;
    try {
      pending = iterator.next();
    } catch (err) {
      settle(() => reject(err));
      return;
    }
    pending.then(
      (result) => settle(() => resolve(result)),
      (err: unknown) => settle(() => reject(err)),
    );
  });
}
