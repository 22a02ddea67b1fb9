/**
 * A client whose teardown keeps a pending request persisted. `destroy()` forgets the request
 * (it ends it for good), but a service torn down with its injector is usually a page going
 * away or a component leaving: a reload, or the next service, must be able to resume it. The
 * storage the client writes through therefore ignores removals while `close()` runs.
 */
import { defaultStorage, ModelRiverClient } from '@modelriver/client';
import type { KeyValueStorage, ModelRiverClientOptions } from '@modelriver/client';

/** A client and the teardown that keeps its request resumable; see {@link createKeptClient}. */
export interface KeptClient {
  readonly client: ModelRiverClient;
  /** Closes the socket and clears every timer; a request still streaming stays persisted. */
  close(): void;
}

/**
 * Creates a client that renders once per animation frame unless `notify` says otherwise.
 *
 * @example
 * ```ts
 * const kept = createKeptClient({ apiBaseUrl: '/api' });
 * kept.client.connect(ack);
 * kept.close(); // socket closed, the request still resumable after a reload
 * ```
 */
export function createKeptClient(options: ModelRiverClientOptions): KeptClient {
  const inner = options.persist === false ? null : (options.storage ?? defaultStorage());
  let keep = false;
  const storage: KeyValueStorage | null =
    inner === null
      ? null
      : {
          getItem: (key) => inner.getItem(key),
          setItem: (key, value) => inner.setItem(key, value),
          removeItem: (key) => {
            if (!keep) inner.removeItem(key);
          },
        };
  const client = new ModelRiverClient({ notify: 'animationFrame', ...options, ...(storage === null ? {} : { storage }) });
  return {
    client,
    close() {
      keep = true;
      try {
        client.destroy();
      } finally {
        keep = false;
      }
    },
  };
}
