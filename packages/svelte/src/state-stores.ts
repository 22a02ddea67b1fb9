/**
 * The client's state as Svelte stores (the store contract: `subscribe(run)` calls `run` at once
 * and on each change, and returns the unsubscriber). One source holds the latest snapshot; each
 * field store calls its subscribers only when its own value changed, so a `$status` does not
 * wake on every token. The source outlives any one client, which is what lets the stores keep
 * working across `disconnect()`, `connect()` and a new client after `destroy()`.
 */
import { initialStreamState } from '@modelriver/client';
import type { StreamState } from '@modelriver/client';
import type { Readable } from 'svelte/store';

/** The latest snapshot and a way to derive field stores from it; see {@link createStateSource}. */
export interface StateSource {
  /** Publishes a new snapshot to every store derived from this source. */
  publish(state: StreamState): void;
  /** A store of `pick(state)`, notifying only when that value changed (`Object.is`). */
  select<T>(pick: (state: StreamState) => T): Readable<T>;
}

/**
 * Creates a source holding the initial state.
 *
 * @example
 * ```ts
 * const source = createStateSource();
 * const text = source.select((s) => s.text);
 * client.subscribe((state) => source.publish(state));
 * ```
 */
export function createStateSource(): StateSource {
  let current = initialStreamState();
  const listeners = new Set<(state: StreamState) => void>();
  return {
    publish(state) {
      current = state;
      // A copy: a subscriber may unsubscribe (or subscribe) while it is called.
      for (const listener of [...listeners]) listener(state);
    },
    select<T>(pick: (state: StreamState) => T): Readable<T> {
      return {
        subscribe(run) {
          let last = pick(current);
          const listener = (state: StreamState): void => {
            const next = pick(state);
            if (Object.is(next, last)) return;
            last = next;
            run(next);
          };
          listeners.add(listener);
          run(last);
          return () => {
            listeners.delete(listener);
          };
        },
      };
    },
  };
}
