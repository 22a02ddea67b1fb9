/**
 * `useModelRiver`: the hosted SDK's hook (same options and return names) on top of the core
 * client's store, with the streaming fields beside them.
 */
import { useEffect, useMemo, useRef } from 'react';
import type {
  ConnectOptions,
  ModelRiverCallbacks,
  ModelRiverClient,
  ModelRiverClientOptions,
  PartialData,
  StreamState,
} from '@modelriver/client';
import { useSharedClient } from './context.js';
import { useClientState } from './use-client-state.js';
import { useOwnedClient } from './use-owned-client.js';
export type { ModelRiverCallbacks, PartialData } from '@modelriver/client';

/** Options of {@link useModelRiver}: the client's options, callbacks, and what to connect to. */
export interface UseModelRiverOptions extends ModelRiverClientOptions, ModelRiverCallbacks {
  /**
   * A request to stream: the ack of `POST /v1/ai/async` (snake_case as returned, or camelCase).
   * A new `channel_id` connects to it; a re-render with the same one does nothing.
   */
  request?: ConnectOptions | null;
  /** Resume a request persisted before a reload on mount (the hosted SDK does). Default true. */
  autoResume?: boolean;
}

/** What {@link useModelRiver} returns: the state snapshot, `message`, and the client's actions. */
export interface UseModelRiverResult<TData = unknown> extends Omit<StreamState, 'data'> {
  /** Structured output: partial while it streams, the validated object at the end. */
  data: PartialData<TData> | null;
  /** `data`, under the name published examples use (`message?.reply`). */
  message: PartialData<TData> | null;
  /** Starts streaming a request: the ack as the backend returns it, or camelCase fields. */
  connect: (options: ConnectOptions) => void;
  disconnect: () => void;
  reset: () => void;
  /** Asks the gateway to stop; the request then ends `cancelled`. */
  cancel: () => Promise<void>;
  /** Resumes the unfinished request; false when there is nothing to resume. */
  reconnect: () => boolean;
  /** The underlying client (null during server rendering). */
  client: ModelRiverClient | null;
}

const whole = (state: StreamState): StreamState => state;

function channelOf(request: ConnectOptions | null | undefined): string | null {
  if (typeof request !== 'object' || request === null) return null;
  const r = request as { channelId?: unknown; channel_id?: unknown };
  const id = r.channelId ?? r.channel_id;
  return typeof id === 'string' ? id : null;
}

/** @internal Registers the callbacks once per client, calling the latest ones. */
export function useCallbacks(client: ModelRiverClient | null, callbacks: ModelRiverCallbacks): void {
  const latest = useRef(callbacks);
  latest.current = callbacks;
  useEffect(() => {
    if (client === null) return undefined;
    const l = latest;
    const offs = [
      client.on('response', (r) => l.current.onResponse?.(r)),
      client.on('error', (e) => l.current.onError?.(e)),
      client.on('tokens', (e) => l.current.onToken?.(e)),
      client.on('tool_call', (e) => l.current.onToolCall?.(e)),
      client.on('status', (e) => l.current.onStatus?.(e)),
      client.on('step', (s) => l.current.onStep?.(s)),
      client.on('connected', () => l.current.onConnected?.()),
      client.on('disconnected', (reason) => l.current.onDisconnected?.(reason)),
    ];
    return () => offs.forEach((off) => off());
  }, [client]);
}

/**
 * Streams AI responses into a component. Without a selector it returns the hosted SDK's
 * fields (`connect`, `disconnect`, `reset`, `response`, `error`, `isConnected`, `isConnecting`,
 * `connectionState`, `steps`, `hasPendingRequest`) and the streaming ones (`text`, `toolCalls`,
 * `status`, `data`/`message`, `metrics`, `cancel`, `reconnect`). With a selector it returns
 * what the selector picks, and the component re-renders only when that changes.
 *
 * Renders at most once per animation frame (the client's `notify: 'animationFrame'`, unless
 * `notify` says otherwise). The client options are read when the client is created: later
 * renders may pass new callbacks or a new `request` without opening a new socket. Inside a
 * `<ModelRiverProvider>` the provider's client (and options) are used. Use the selector form
 * consistently: a component must not switch between the two forms.
 *
 * @example
 * ```tsx
 * function Answer({ ack }: { ack: AsyncResponse | null }) {
 *   const { text, status, cancel } = useModelRiver({ request: ack, onResponse: (r) => log(r.meta) });
 *   return <p>{text}{status === 'streaming' && <button onClick={() => void cancel()}>Stop</button>}</p>;
 * }
 * const status = useModelRiver({}, (s) => s.status); // re-renders on status changes only
 * ```
 */
export function useModelRiver<TData = unknown>(options?: UseModelRiverOptions): UseModelRiverResult<TData>;
export function useModelRiver<T>(
  options: UseModelRiverOptions | undefined,
  selector: (state: StreamState) => T,
  isEqual?: (a: T, b: T) => boolean,
): T;
export function useModelRiver<T>(
  options: UseModelRiverOptions = {},
  selector?: (state: StreamState) => T,
  isEqual: (a: T, b: T) => boolean = Object.is,
): T | UseModelRiverResult {
  const owned = useOwnedClient(useSharedClient(), options, options.autoResume ?? true);
  const client = owned?.client ?? null;
  useCallbacks(client, options);
  const request = options.request;
  const latestRequest = useRef(request);
  latestRequest.current = request;
  const channel = channelOf(request);
  useEffect(() => {
    const r = latestRequest.current;
    if (client !== null && channel !== null && r != null) client.connect(r);
  }, [client, channel]);
  const selected = useClientState(client, (selector ?? whole) as (state: StreamState) => T, isEqual);
  const actions = useMemo(
    () => ({
      connect: (o: ConnectOptions) => client?.connect(o),
      disconnect: () => client?.disconnect(),
      reset: () => client?.reset(),
      cancel: () => (client === null ? Promise.resolve() : client.cancel()),
      reconnect: () => client?.reconnect() ?? false,
      client,
    }),
    [client],
  );
  if (selector !== undefined) return selected;
  const state = selected as unknown as StreamState;
  return { ...state, data: state.data as PartialData<unknown>, message: state.data as PartialData<unknown>, ...actions };
}
