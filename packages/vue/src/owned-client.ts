/**
 * A client owned by one binding instance (a component, an effect scope): `close()` ends its
 * socket and timers but keeps a pending request persisted, so a reload resumes it. The client's
 * `destroy()` would forget that request, so the storage it writes through ignores the removal
 * that `destroy()` makes.
 */
import { defaultStorage, ModelRiverClient } from '@modelriver/client';
import type { KeyValueStorage, ModelRiverClientOptions } from '@modelriver/client';

/** A client and the way to let it go; see {@link openClient}. */
export interface OwnedClient {
  readonly client: ModelRiverClient;
  /** Closes the socket and timers for good; a pending request stays persisted. Idempotent. */
  close(): void;
}

/**
 * Creates a client with `notify: 'animationFrame'` unless told otherwise (one update per frame).
 * Resuming a persisted request is the caller's choice, once its listeners are in place.
 *
 * @example
 * ```ts
 * const owned = openClient({ apiBaseUrl: '/api' });
 * onScopeDispose(() => owned.close());
 * ```
 */
export function openClient(options: ModelRiverClientOptions): OwnedClient {
  const inner = options.persist === false ? null : (options.storage ?? defaultStorage());
  let closing = false;
  const storage: KeyValueStorage | null =
    inner === null
      ? null
      : {
          getItem: (key) => inner.getItem(key),
          setItem: (key, value) => inner.setItem(key, value),
          removeItem: (key) => {
            if (!closing) inner.removeItem(key);
          },
        };
  const client = new ModelRiverClient({ notify: 'animationFrame', ...options, ...(storage === null ? {} : { storage }) });
  let closed = false;
  return {
    client,
    close() {
      if (closed) return;
      closed = true;
      closing = true;
      try {
        client.destroy();
      } finally {
        closing = false;
      }
    },
  };
}
