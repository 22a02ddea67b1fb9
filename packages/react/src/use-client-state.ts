/**
 * The client's state in React through `useSyncExternalStore`, narrowed by a selector: a
 * component re-renders only when what it selected changed. The server snapshot is the initial
 * state, so server HTML and hydration agree whatever the browser restored from storage.
 */
import { useCallback, useRef, useSyncExternalStore } from 'react';
import { initialStreamState } from '@modelriver/client';
import type { ModelRiverClient, StreamState } from '@modelriver/client';

/** The state before any request, as the server renders it. */
export const SERVER_STATE: StreamState = initialStreamState();

const noSubscription = (): (() => void) => () => undefined;

interface Cache<T> {
  state: StreamState;
  value: T;
}

/**
 * @internal `select(client.getState())`, the same value while `isEqual` says nothing changed.
 */
export function useClientState<T>(
  client: ModelRiverClient | null,
  select: (state: StreamState) => T,
  isEqual: (a: T, b: T) => boolean,
): T {
  const cache = useRef<Cache<T> | null>(null);
  const serverCache = useRef<Cache<T> | null>(null);
  const subscribe = useCallback((onChange: () => void) => (client === null ? noSubscription() : client.subscribe(onChange)), [client]);
  const read = (ref: { current: Cache<T> | null }, state: StreamState): T => {
    const c = ref.current;
    if (c !== null && c.state === state) return c.value;
    const value = select(state);
    if (c !== null && isEqual(c.value, value)) {
      c.state = state;
      return c.value;
    }
    ref.current = { state, value };
    return value;
  };
  return useSyncExternalStore(
    subscribe,
    () => read(cache, client === null ? SERVER_STATE : client.getState()),
    () => read(serverCache, SERVER_STATE),
  );
}
