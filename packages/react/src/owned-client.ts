/**
 * A client owned by React: created on the first render in a browser (so a reloaded page shows
 * its restored text at first paint), opened by its first mount and closed by its last unmount.
 *
 * StrictMode mounts, unmounts and mounts again in one go; both the resume on mount and the
 * close on unmount therefore wait a microtask and look again, so that double mount opens one
 * socket. Closing keeps a pending request persisted (`destroy({ keepPending: true })`), so a
 * reload resumes it.
 */
import { defaultStorage, ModelRiverClient } from '@modelriver/client';
import type { KeyValueStorage, ModelRiverClientOptions } from '@modelriver/client';

/** A client and its mount bookkeeping; see {@link createOwnedClient}. */
export interface OwnedClient {
  readonly client: ModelRiverClient;
  /** The storage the client persists to (null with `persist: false`), for the chat's history. */
  readonly storage: KeyValueStorage | null;
  readonly storageKeyPrefix: string;
  /** Closed for good by its last unmount; a component mounting again needs a new one. */
  readonly closed: boolean;
  /** A component mounted: returns its unmount. */
  attach(): () => void;
}

/**
 * Creates a client for React with `notify: 'animationFrame'` unless told otherwise (one commit
 * per frame), resuming a persisted request on mount when `autoResume`.
 *
 * @example
 * ```ts
 * const owned = createOwnedClient({ apiBaseUrl: '/api' }, true);
 * const detach = owned.attach(); // in an effect
 * detach();                      // its cleanup
 * ```
 */
export function createOwnedClient(options: ModelRiverClientOptions, autoResume: boolean): OwnedClient {
  const storage = options.persist === false ? null : (options.storage ?? defaultStorage());
  // The chat keeps its history in the same storage as the client's request record.
  const client = new ModelRiverClient({ notify: 'animationFrame', ...options, ...(storage === null ? {} : { storage }) });
  let mounts = 0;
  let resumed = false;
  let closed = false;
  return {
    client,
    storage,
    storageKeyPrefix: options.storageKeyPrefix ?? 'modelriver_',
    get closed() {
      return closed;
    },
    attach() {
      mounts++;
      queueMicrotask(() => {
        if (mounts === 0 || resumed || closed) return;
        resumed = true;
        if (autoResume && client.hasPendingRequest()) client.reconnect();
      });
      let detached = false;
      return () => {
        if (detached) return;
        detached = true;
        mounts--;
        queueMicrotask(() => {
          if (mounts > 0 || closed) return;
          closed = true;
          client.destroy({ keepPending: true });
        });
      };
    },
  };
}
