/**
 * Public types of the client: its options, its state snapshot and its event map.
 * The names of the hosted SDK's `@modelriver/client` (ModelRiverClientOptions, ConnectOptions,
 * AIResponse, WorkflowStep, ModelRiverState, ModelRiverEventMap) are kept and widened.
 */
import type {
  ErrorBody,
  ResponsePayload,
  StatusPayload,
  TokensPayload,
  ToolCallPayload,
  Usage,
} from './protocol.js';

/** The final (or `ai_generated`) response as received on the wire. */
export type AIResponse = ResponsePayload;

/** Link state. `reconnecting` is new; the other four are the hosted SDK's. */
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'error';

/**
 * Where the request stands. Terminal: `success`, `completed`, `error`, `cancelled`.
 * `ai_generated` waits for the backend's callback (event-driven workflows).
 */
export type StreamStatus =
  | 'idle'
  | 'pending'
  | 'streaming'
  | 'ai_generated'
  | 'success'
  | 'completed'
  | 'error'
  | 'cancelled';

export type WorkflowStepStatus = 'pending' | 'success' | 'error';

/** A progress step, as the hosted SDK reports them (`queue`, `process`, `receive`, `complete`, `backend`). */
export interface WorkflowStep {
  id: string;
  name: string;
  status: WorkflowStepStatus;
  duration?: number;
  errorMessage?: string;
}

/** A tool call assembled from `tool_call` deltas. */
export interface ToolCallState {
  index: number;
  id: string | null;
  name: string | null;
  /** The JSON arguments text received so far. */
  argumentsText: string;
  /**
   * The arguments parsed so far: partial while they stream (the keys whose value has started,
   * strings as far as they came), whole once `argumentsText` is; `undefined` before any value.
   */
  arguments: unknown;
  /** True once `argumentsText` is whole JSON and a later event has moved past the call. */
  complete: boolean;
}

/** Timing and size of the stream, measured on the client's clock. */
export interface StreamMetrics {
  /** When `connect()` was called for this request (epoch ms). */
  startedAt: number | null;
  firstTokenAt: number | null;
  endedAt: number | null;
  /** Time to first token: `firstTokenAt - startedAt`. */
  ttftMs: number | null;
  /** `endedAt - startedAt`, once terminal. */
  durationMs: number | null;
  /** Number of `tokens` deltas applied (a merged frame counts every seq it covers). */
  tokenCount: number;
  /** Provider usage from the final response's `meta`, when given. */
  usage: Usage | null;
}

/**
 * The one state snapshot. Immutable: every change produces a new object, so
 * `getState() === previous` tells whether anything changed.
 */
export interface StreamState {
  connectionState: ConnectionState;
  isConnected: boolean;
  isConnecting: boolean;
  /** True while an unfinished request is persisted and can be resumed. */
  hasPendingRequest: boolean;
  channelId: string | null;
  status: StreamStatus;
  /** True after a terminal success (`status` is `success` or `completed`), as in the hosted SDK. */
  isCompleted: boolean;
  /** The latest `status` event (provider, model, failover reason). */
  lastStatus: StatusPayload | null;
  /** The text so far; on a final response, its `content` when given. */
  text: string;
  toolCalls: ToolCallState[];
  /** The final (or `ai_generated`) response as received. */
  response: AIResponse | null;
  /**
   * Structured output: `response.data`, else `response.ai_response.data`. While a text that
   * starts with `{` or `[` streams, the object parsed from it so far (a new object when it changed).
   */
  data: unknown;
  /** Human-readable error message (the hosted SDK's field). */
  error: string | null;
  /** Stable code of `error`, e.g. `invalid_structured_output`, `unauthorized`. */
  errorCode: string | null;
  steps: WorkflowStep[];
  /** Highest `seq` applied. */
  lastSeq: number;
  metrics: StreamMetrics;
}

/** The hosted SDK's name for the snapshot. */
export type ModelRiverState = StreamState;

/** What the backend got from `POST /v1/ai/async`, in camelCase. */
export interface ConnectParams {
  channelId: string;
  /** Single-use token; never reused after the first connect. */
  wsToken: string;
  /** `ws://host:port/socket`; defaults to the client's `baseUrl`. */
  websocketUrl?: string;
  /**
   * `ai_response:{project_id}:{channel_id}`, the ack's `websocket_channel`. Without it the topic is
   * `ai_response:{channelId}`, which only gateways that accept that short form can join.
   */
  websocketChannel?: string;
}

/**
 * The async ack as the backend returns it (`POST /v1/ai/async`, and the hosted SDK's type of the
 * same name): `connect(ack)` takes it as is. Only `channel_id` and `ws_token` are required here.
 */
export interface AsyncResponse {
  channel_id: string;
  ws_token: string;
  websocket_url?: string;
  websocket_channel?: string;
  message?: string;
  status?: string;
  project_id?: string;
  customer_data?: Record<string, unknown>;
  instructions?: { websocket?: string; webhook?: string };
  test_mode?: boolean;
}

/**
 * `connect()`/`stream()` options: the ack as the backend returns it (snake_case) or the same
 * fields in camelCase. Where an object has both spellings of a field, the camelCase one wins.
 */
export type ConnectOptions = ConnectParams | AsyncResponse;

/** A fresh token, as `getToken` or the backend's reconnect endpoint returns it. */
export interface TokenGrant {
  wsToken: string;
  websocketUrl?: string;
  websocketChannel?: string;
}

/** Exponential backoff with full jitter. */
export interface BackoffOptions {
  /** First delay's cap in ms. Default 500. */
  initialDelayMs: number;
  /** Largest delay in ms. Default 30 000. */
  maxDelayMs: number;
  /** Growth per attempt. Default 2. */
  factor: number;
  /** Give up after this many attempts. Default Infinity. */
  maxAttempts: number;
  /** The attempt count resets only after the link stayed up this long. Default 5 000. */
  minUptimeMs: number;
}

/** How state notifications are delivered to `subscribe` listeners and `state` events. */
export type NotifyMode = 'sync' | 'microtask' | 'animationFrame' | { intervalMs: number };

/** Key-value storage (localStorage's shape). */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Timers, injectable so tests can use fake ones. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * An event handler property, compared bivariantly (method-style) so that the DOM's
 * `(ev: Event) => any` and `ws`'s `(event: WebSocket.Event) => void` handlers fit
 * without a cast.
 */
export type WebSocketHandler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

/** Minimal WebSocket surface the client uses (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount?: number;
  onopen: WebSocketHandler<unknown> | null;
  onclose: WebSocketHandler<{ code: number; reason: string; wasClean?: boolean }> | null;
  onerror: WebSocketHandler<unknown> | null;
  onmessage: WebSocketHandler<{ data: unknown }> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/**
 * Page lifecycle signals: the client retries at once when the browser comes back
 * online or the page becomes visible after an unclean close, and writes its persisted
 * request at once when the page is hidden or unloading (`hidden`), so a reload shows
 * all the text that had arrived. Returns an unsubscribe.
 */
export type LifecycleSource = (onWake: (reason: 'online' | 'visible' | 'hidden') => void) => () => void;

/** Outgoing push buffer limits. */
export interface PushBufferOptions {
  /** Pushes waiting while offline. Default 100. */
  maxSize: number;
  /** A push not sent and answered within this many ms fails. Default 10 000. */
  timeoutMs: number;
}

export interface ModelRiverClientOptions {
  /** WebSocket base URL. Default `wss://api.modelriver.com/socket`. */
  baseUrl?: string;
  /** Your backend's base URL; `reconnectWithBackend()` posts to `{apiBaseUrl}/api/v1/ai/reconnect`. */
  apiBaseUrl?: string;
  debug?: boolean;
  /** Persist the active request so a reload resumes it. Default true. */
  persist?: boolean;
  /** Default `modelriver_`. */
  storageKeyPrefix?: string;
  /** Heartbeat interval in ms, at most 2^31-1 (`Infinity`: no heartbeats). Default 30 000. */
  heartbeatInterval?: number;
  /** A join not answered within this many ms (at most 2^31-1) is retried under the `rejoin` policy. Default 10 000. */
  joinTimeout?: number;
  /** A persisted request older than this is dropped. Default 300 000. */
  requestTimeout?: number;
  /** Socket reconnection policy, or `false` to never reconnect. */
  reconnect?: Partial<BackoffOptions> | false;
  /** Channel rejoin policy (after a refused or errored join that may succeed later). */
  rejoin?: Partial<BackoffOptions>;
  /** Asked for a fresh token when no resume token is at hand. */
  getToken?: (channelId: string) => Promise<TokenGrant | string | null | undefined>;
  pushBuffer?: Partial<PushBufferOptions>;
  /** State notification batching. Default `sync`. */
  notify?: NotifyMode;
  /** Frames larger than this many bytes are refused as `protocol_error`. Default 4 MiB. */
  maxFrameBytes?: number;
  /** Defaults to `globalThis.WebSocket`, else isomorphic-ws (`ws` on Node); resolved at connect time. */
  WebSocket?: WebSocketConstructor;
  /** Defaults to `localStorage` in browsers, memory elsewhere. */
  storage?: KeyValueStorage;
  timers?: Timers;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Default `Math.random`. */
  random?: () => number;
  /** Defaults to window `online` + document `visibilitychange` where they exist. */
  lifecycle?: LifecycleSource;
  /** Used by `reconnectWithBackend()`. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

/** A frame or payload that failed validation; it was dropped. */
export interface ProtocolErrorInfo {
  code: 'malformed_frame' | 'unknown_event' | 'invalid_payload' | 'frame_too_large';
  message: string;
  /** The offending frame as text, truncated to 512 characters. */
  frame: string;
}

/** A push or an event that was dropped instead of growing a buffer. */
export interface DropInfo {
  kind: 'push';
  event: string;
  reason: 'overflow' | 'timeout' | 'disconnected';
}

/** Payload of the `connecting` event. */
export interface ConnectingInfo {
  attempt: number;
  /** How the token for this attempt was obtained. */
  via: 'ws_token' | 'resume_token' | 'get_token' | 'backend';
}

/** Payload of the `channel_joined` event. */
export interface JoinedInfo {
  topic: string;
  /** The server's `last_seq` at join. */
  serverLastSeq: number;
  /** True when this join resumed after earlier events. */
  resumed: boolean;
}

/** `{previous, current, reason}` of a connection state change. */
export interface ConnectionTransition {
  previous: ConnectionState;
  current: ConnectionState;
  reason: string;
}

/** Error with a stable code. Defined in errors.ts; declared here for the event map. */
export interface ModelRiverErrorLike extends Error {
  readonly code: string;
}

/** Listener signatures by event name. */
export interface ModelRiverEventMap {
  tokens: (event: TokensPayload) => void;
  status: (event: StatusPayload) => void;
  tool_call: (event: ToolCallPayload) => void;
  /** One per wire `response` event (so also for `ai_generated`). */
  response: (response: AIResponse) => void;
  error: (error: ModelRiverErrorLike) => void;
  protocol_error: (info: ProtocolErrorInfo) => void;
  connecting: (info: ConnectingInfo) => void;
  connected: () => void;
  disconnected: (reason: string, transition: ConnectionTransition) => void;
  channel_joined: (info: JoinedInfo) => void;
  channel_error: (reason: string) => void;
  step: (step: WorkflowStep) => void;
  state: (state: StreamState, previous: StreamState) => void;
  dropped: (info: DropInfo) => void;
}
export type ModelRiverEventType = keyof ModelRiverEventMap;

/** What `stream()` yields: a union on `type`. */
export type StreamEvent =
  | { type: 'tokens'; payload: TokensPayload }
  | { type: 'status'; payload: StatusPayload }
  | { type: 'tool_call'; payload: ToolCallPayload }
  | { type: 'response'; payload: AIResponse };

export type { ErrorBody };

/**
 * `T` as it may look while it streams: every property optional, at every depth. The type of
 * `data` in the framework bindings while structured output is still arriving.
 */
export type PartialData<T> = T extends readonly (infer E)[] ? PartialData<E>[] : T extends object ? { [K in keyof T]?: PartialData<T[K]> } : T;

/** The app's event callbacks, as every framework binding takes them (each call sees the latest function). */
export interface ModelRiverCallbacks {
  onResponse?: (response: AIResponse) => void;
  onError?: (error: ModelRiverErrorLike) => void;
  onToken?: (event: TokensPayload) => void;
  onToolCall?: (event: ToolCallPayload) => void;
  onStatus?: (event: StatusPayload) => void;
  onStep?: (step: WorkflowStep) => void;
  onConnected?: () => void;
  onDisconnected?: (reason: string) => void;
}
