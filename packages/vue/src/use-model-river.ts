/**
 * `useModelRiver` for Vue: the hosted SDK's composable (same options and return names) on top of
 * the core client's store, with the streaming fields beside them. The client is created during
 * `setup` in a browser (a reloaded page shows its restored text at first render) and closed when
 * the owning component or effect scope is disposed.
 */
import { computed, getCurrentScope, onScopeDispose, shallowRef, toValue, watch } from 'vue';
import type { ComputedRef, MaybeRefOrGetter, Ref, ShallowRef } from 'vue';
import { initialStreamState, ModelRiverClient } from '@modelriver/client';
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
export type { ModelRiverCallbacks, PartialData } from '@modelriver/client';

/** Options of {@link useModelRiver}: the client's options, callbacks, and what to connect to. */
export interface UseModelRiverOptions extends ModelRiverClientOptions, ModelRiverCallbacks {
  /**
   * A request to stream (a value, ref or getter): the ack of `POST /v1/ai/async`, snake_case as
   * returned or camelCase. Each new `channel_id` connects; the same one again does nothing.
   */
  request?: MaybeRefOrGetter<ConnectOptions | null | undefined>;
  /** Resume a request persisted before a reload when the client is created (the hosted SDK does). Default true. */
  autoResume?: boolean;
}

/** A read-only view of one field of the client's state. */
export type StateRef<T> = Readonly<Ref<T>>;

/** What {@link useModelRiver} returns: one read-only ref per state field, and the client's actions. */
export interface UseModelRiverReturn<TData = unknown> {
  /** The whole snapshot, a new object after each (batched) change. */
  state: Readonly<ShallowRef<StreamState>>;
  connectionState: StateRef<ConnectionState>;
  isConnected: StateRef<boolean>;
  isConnecting: StateRef<boolean>;
  /** True while an unfinished request is persisted and can be resumed. */
  hasPendingRequest: StateRef<boolean>;
  steps: StateRef<WorkflowStep[]>;
  response: StateRef<AIResponse | null>;
  error: StateRef<string | null>;
  errorCode: StateRef<string | null>;
  status: StateRef<StreamStatus>;
  isCompleted: StateRef<boolean>;
  lastStatus: StateRef<StatusPayload | null>;
  channelId: StateRef<string | null>;
  text: StateRef<string>;
  toolCalls: StateRef<ToolCallState[]>;
  /** Structured output: partial while it streams, the validated object at the end. */
  data: StateRef<PartialData<TData> | null>;
  /** `data`, under the name published examples use (`message.value?.reply`). */
  message: StateRef<PartialData<TData> | null>;
  metrics: StateRef<StreamMetrics>;
  /** Starts streaming a request: the ack as the backend returns it, or camelCase fields. */
  connect: (options: ConnectOptions) => void;
  /** Stops the request and forgets it (nothing to resume); the text stays until `reset()`. */
  disconnect: () => void;
  reset: () => void;
  /** Asks the gateway to stop; the request then ends `cancelled`. */
  cancel: () => Promise<void>;
  /** Resumes the unfinished request; false when there is nothing to resume. */
  reconnect: () => boolean;
  /** The underlying client (null during server rendering). */
  client: ModelRiverClient | null;
}

/** The hosted SDK's name for {@link UseModelRiverReturn}. */
export type UseModelRiverVueReturn<TData = unknown> = UseModelRiverReturn<TData>;

const inBrowser = (): boolean => typeof window !== 'undefined';

function channelOf(request: ConnectOptions | null | undefined): string | null {
  if (typeof request !== 'object' || request === null) return null;
  const r = request as { channelId?: unknown; channel_id?: unknown };
  const id = r.channelId ?? r.channel_id;
  return typeof id === 'string' ? id : null;
}

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

/**
 * Streams AI responses into a component (in `<script setup>` or `setup()`), or into an
 * `effectScope()` outside any component. Returns the hosted SDK's refs (`connectionState`,
 * `isConnected`, `isConnecting`, `steps`, `response`, `error`, `hasPendingRequest`) and actions
 * (`connect`, `disconnect`, `reset`), plus the streaming ones (`text`, `toolCalls`, `status`,
 * `data`/`message`, `metrics`, `cancel`, `reconnect`).
 *
 * Refs change at most once per animation frame (the client's `notify: 'animationFrame'`, unless
 * `notify` says otherwise), and each ref triggers only when its own value changed. When the
 * component or scope is disposed the socket and timers close; a request still streaming stays
 * persisted, so a reloaded page resumes it. During server rendering (no `window`) no client is
 * created: the refs hold the initial state and nothing touches storage or sockets.
 *
 * @example
 * ```vue
 * <script setup lang="ts">
 * import { useModelRiver } from '@modelriver/vue';
 * const { text, status, connect, cancel } = useModelRiver({ apiBaseUrl: '/api' });
 * async function send(prompt: string) {
 *   connect(await (await fetch('/api/chat', { method: 'POST', body: prompt })).json());
 * }
 * </script>
 * <template>
 *   <p>{{ text }}</p>
 *   <button v-if="status === 'streaming'" @click="cancel()">Stop</button>
 * </template>
 * ```
 */
export function useModelRiver<TData = unknown>(options: UseModelRiverOptions = {}): UseModelRiverReturn<TData> {
  const { request, autoResume, onResponse, onError, onToken, onToolCall, onStatus, onStep, onConnected, onDisconnected, ...clientOptions } = options;
  // One update per animation frame unless `notify` says otherwise.
  const client = inBrowser() ? new ModelRiverClient({ notify: 'animationFrame', ...clientOptions }) : null;
  const state = shallowRef<StreamState>(client?.getState() ?? initialStreamState());
  if (client !== null) {
    const offs = listen(client, { onResponse, onError, onToken, onToolCall, onStatus, onStep, onConnected, onDisconnected });
    offs.push(
      client.subscribe((next) => {
        state.value = next;
      }),
    );
    // Listeners first, so a resumed request's events reach the callbacks.
    if ((autoResume ?? true) && client.hasPendingRequest()) client.reconnect();
    // Without a scope nothing can tell when the caller is done: the client then lives on.
    if (getCurrentScope() !== undefined) {
      onScopeDispose(() => {
        // Stop listening first: the refs keep their last values instead of the reset state.
        offs.forEach((off) => off());
        // A request still streaming stays persisted: a reload resumes it.
        client.destroy({ keepPending: true });
      });
    }
    if (request !== undefined) {
      watch(
        () => channelOf(toValue(request)),
        (channel) => {
          const r = toValue(request);
          if (channel !== null && r != null) client.connect(r);
        },
        { immediate: true },
      );
    }
  }
  const field = <K extends keyof StreamState>(key: K): ComputedRef<StreamState[K]> => computed(() => state.value[key]);
  const data = computed(() => state.value.data as PartialData<TData> | null);
  return {
    state,
    connectionState: field('connectionState'),
    isConnected: field('isConnected'),
    isConnecting: field('isConnecting'),
    hasPendingRequest: field('hasPendingRequest'),
    steps: field('steps'),
    response: field('response'),
    error: field('error'),
    errorCode: field('errorCode'),
    status: field('status'),
    isCompleted: field('isCompleted'),
    lastStatus: field('lastStatus'),
    channelId: field('channelId'),
    text: field('text'),
    toolCalls: field('toolCalls'),
    data,
    message: data,
    metrics: field('metrics'),
    connect: (o) => client?.connect(o),
    disconnect: () => client?.disconnect(),
    reset: () => client?.reset(),
    cancel: () => (client === null ? Promise.resolve() : client.cancel()),
    reconnect: () => client?.reconnect() ?? false,
    client,
  };
}
