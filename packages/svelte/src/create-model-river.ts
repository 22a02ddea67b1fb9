/**
 * `createModelRiver` for Svelte: the hosted SDK's store factory (same options and store names)
 * on top of the core client's store, with the streaming stores beside them. Works with Svelte 4
 * store syntax (`$text`) and Svelte 5 runes (`fromStore(text)`, or `$text` in runes mode).
 */
import { onDestroy } from 'svelte';
import type { Readable } from 'svelte/store';
import { ModelRiverClient } from '@modelriver/client';
import type {
  AIResponse,
  ConnectionState,
  ConnectOptions,
  ModelRiverCallbacks,
  ModelRiverClientOptions,
  PartialData,
  StatusPayload,
  StreamMetrics,
  StreamState,
  StreamStatus,
  ToolCallState,
  WorkflowStep,
} from '@modelriver/client';
import { createStateSource } from './state-stores.js';
export type { ModelRiverCallbacks, PartialData } from '@modelriver/client';

/** Options of {@link createModelRiver}: the client's options and callbacks. */
export interface CreateModelRiverOptions extends ModelRiverClientOptions, ModelRiverCallbacks {
  /** Resume a request persisted before a reload when the client is created (the hosted SDK does). Default true. */
  autoResume?: boolean;
}

/**
 * What {@link createModelRiver} returns: one readable store per state field, the actions, and
 * itself a store of the whole snapshot (`$river.text`).
 */
export interface ModelRiverStores<TData = unknown> extends Readable<StreamState> {
  connectionState: Readable<ConnectionState>;
  isConnected: Readable<boolean>;
  isConnecting: Readable<boolean>;
  /** True while an unfinished request is persisted and can be resumed. */
  hasPendingRequest: Readable<boolean>;
  steps: Readable<WorkflowStep[]>;
  response: Readable<AIResponse | null>;
  error: Readable<string | null>;
  errorCode: Readable<string | null>;
  status: Readable<StreamStatus>;
  isCompleted: Readable<boolean>;
  lastStatus: Readable<StatusPayload | null>;
  channelId: Readable<string | null>;
  text: Readable<string>;
  toolCalls: Readable<ToolCallState[]>;
  /** Structured output: partial while it streams, the validated object at the end. */
  data: Readable<PartialData<TData> | null>;
  /** `data`, under the name published examples use (`$message?.reply`). */
  message: Readable<PartialData<TData> | null>;
  metrics: Readable<StreamMetrics>;
  /** Starts streaming a request: the ack as the backend returns it, or camelCase fields. */
  connect: (options: ConnectOptions) => void;
  /** Stops the request and forgets it (nothing to resume); the stores keep working for the next `connect()`. */
  disconnect: () => void;
  reset: () => void;
  /** Asks the gateway to stop; the request then ends `cancelled`. */
  cancel: () => Promise<void>;
  /** Resumes the unfinished request; false when there is nothing to resume. */
  reconnect: () => boolean;
  /**
   * Closes the socket and timers; a request still streaming stays persisted for a reload. Called
   * by itself when the component that created the stores is destroyed. A later `connect()` or
   * `reconnect()` starts a new client behind the same stores.
   */
  destroy: () => void;
  /** The current client: null during server rendering and after `destroy()`. */
  getClient: () => ModelRiverClient | null;
}

/** The hosted SDK's name for {@link ModelRiverStores}. */
export type ModelRiverSvelteStore<TData = unknown> = ModelRiverStores<TData>;

const inBrowser = (): boolean => typeof window !== 'undefined';

function listen(client: ModelRiverClient, c: ModelRiverCallbacks): Array<() => void> {
  const offs: Array<() => void> = [];
  if (c.onResponse) offs.push(client.on('response', c.onResponse));
  if (c.onError) offs.push(client.on('error', c.onError));
  if (c.onToken) offs.push(client.on('tokens', c.onToken));
  if (c.onToolCall) offs.push(client.on('tool_call', c.onToolCall));
  if (c.onStatus) offs.push(client.on('status', c.onStatus));
  if (c.onStep) offs.push(client.on('step', c.onStep));
  if (c.onConnected) offs.push(client.on('connected', c.onConnected));
  if (c.onDisconnected) offs.push(client.on('disconnected', c.onDisconnected));
  return offs;
}

/** Registers `fn` with the component being initialised; false outside component initialisation. */
function onComponentDestroy(fn: () => void): boolean {
  try {
    onDestroy(fn);
    return true;
  } catch {
    // Svelte throws outside a component's initialisation (a module, an event handler).
    return false;
  }
}

/**
 * Creates the stores of one request stream: the hosted SDK's (`connectionState`, `isConnected`,
 * `isConnecting`, `steps`, `response`, `error`, `hasPendingRequest`) and the streaming ones
 * (`text`, `toolCalls`, `status`, `data`/`message`, `metrics`), with `connect`, `disconnect`,
 * `reset`, `cancel`, `reconnect` and `destroy`.
 *
 * Stores change at most once per animation frame (the client's `notify: 'animationFrame'`,
 * unless `notify` says otherwise), and each store notifies only when its own value changed.
 * They keep working after `disconnect()` and a new `connect()`. Created while a component
 * initialises, the stores are torn down with it (`destroy()`): the socket and timers close,
 * and a request still streaming stays persisted so a reloaded page resumes it. Created
 * elsewhere (a module), call `destroy()` yourself. During server rendering (no `window`) no
 * client is created: the stores hold the initial state and nothing touches storage or sockets.
 *
 * @example
 * ```svelte
 * <script>
 *   import { createModelRiver } from '@modelriver/svelte';
 *   const { text, status, connect, cancel } = createModelRiver({ apiBaseUrl: '/api' });
 *   async function send(prompt) {
 *     connect(await (await fetch('/api/chat', { method: 'POST', body: prompt })).json());
 *   }
 * </script>
 * <p>{$text}</p>
 * {#if $status === 'streaming'}<button on:click={() => cancel()}>Stop</button>{/if}
 * ```
 */
export function createModelRiver<TData = unknown>(options: CreateModelRiverOptions = {}): ModelRiverStores<TData> {
  const { autoResume, onResponse, onError, onToken, onToolCall, onStatus, onStep, onConnected, onDisconnected, ...clientOptions } = options;
  const callbacks: ModelRiverCallbacks = { onResponse, onError, onToken, onToolCall, onStatus, onStep, onConnected, onDisconnected };
  const source = createStateSource();
  let owned: ModelRiverClient | null = null;
  let unlisten: (() => void) | null = null;

  /** The current client, created on first need in a browser. */
  const open = (resume: boolean): ModelRiverClient | null => {
    if (owned !== null) return owned;
    if (!inBrowser()) return null;
    // One update per animation frame unless `notify` says otherwise.
    const next = new ModelRiverClient({ notify: 'animationFrame', ...clientOptions });
    owned = next;
    const offs = listen(next, callbacks);
    offs.push(next.subscribe((state) => source.publish(state)));
    unlisten = () => offs.forEach((off) => off());
    source.publish(next.getState());
    // Listeners first, so a resumed request's events reach the callbacks.
    if (resume && next.hasPendingRequest()) next.reconnect();
    return next;
  };

  const destroy = (): void => {
    const current = owned;
    if (current === null) return;
    // Stop listening first: the stores keep their last values instead of the reset state.
    unlisten?.();
    unlisten = null;
    owned = null;
    // A request still streaming stays persisted: a reload resumes it.
    current.destroy({ keepPending: true });
  };

  open(autoResume ?? true);
  onComponentDestroy(destroy);

  const data = source.select((s) => s.data as PartialData<TData> | null);
  return {
    subscribe: source.select((s) => s).subscribe,
    connectionState: source.select((s) => s.connectionState),
    isConnected: source.select((s) => s.isConnected),
    isConnecting: source.select((s) => s.isConnecting),
    hasPendingRequest: source.select((s) => s.hasPendingRequest),
    steps: source.select((s) => s.steps),
    response: source.select((s) => s.response),
    error: source.select((s) => s.error),
    errorCode: source.select((s) => s.errorCode),
    status: source.select((s) => s.status),
    isCompleted: source.select((s) => s.isCompleted),
    lastStatus: source.select((s) => s.lastStatus),
    channelId: source.select((s) => s.channelId),
    text: source.select((s) => s.text),
    toolCalls: source.select((s) => s.toolCalls),
    data,
    message: data,
    metrics: source.select((s) => s.metrics),
    connect: (o) => open(false)?.connect(o),
    disconnect: () => owned?.disconnect(),
    reset: () => owned?.reset(),
    cancel: () => (owned === null ? Promise.resolve() : owned.cancel()),
    reconnect: () => open(false)?.reconnect() ?? false,
    destroy,
    getClient: () => owned,
  };
}
