/**
 * `@modelriver/client`: real-time AI response streaming over Phoenix channels,
 * with tokens, tool calls, status, lossless resume and cancel.
 */

// The client
export { ModelRiverClient, ConnectionReason, DEFAULT_BASE_URL, DEFAULT_STORAGE_KEY_PREFIX, DEFAULT_REQUEST_TIMEOUT_MS } from './client.js';
export { ModelRiverError, ErrorCode, TERMINAL_ERROR_CODES } from './errors.js';
export type { ModelRiverErrorOptions } from './errors.js';
export { EventStream, STREAM_ENDED } from './event-stream.js';

// Building blocks, for adapters and tests
export { backoffDelay, DEFAULT_RECONNECT, DEFAULT_REJOIN } from './backoff.js';
export { encodeFrame, decodeFrame, DEFAULT_MAX_FRAME_BYTES } from './serializer.js';
export type { DecodeResult } from './serializer.js';
export { createMemoryStorage, defaultStorage, isStorageAvailable } from './storage.js';
export type { PersistedRequest } from './storage.js';
export { parseServerEvent } from './events.js';
export type { ParseResult } from './events.js';
export { reduceStream, initialStreamState, classifySeq, isTerminalStatus, StepId } from './stream-state.js';
export type { StreamAction } from './stream-state.js';
export { createPartialJson } from './partial-json.js';
export type { PartialJson } from './partial-json.js';
export { socketUrl } from './socket.js';

// The hosted SDK's helpers and constants, so code written against it runs unchanged
export { decodeToken, isTokenExpired } from './token-claims.js';
export type { TokenPayload } from './token-claims.js';
export { buildWebSocketUrl, DEFAULT_HEARTBEAT_INTERVAL_MS as DEFAULT_HEARTBEAT_INTERVAL } from './socket.js';
export { DEFAULT_REQUEST_TIMEOUT_MS as DEFAULT_REQUEST_TIMEOUT } from './resume-record.js';

// Protocol constants
export {
  PhoenixEvent,
  PROTOCOL_VSN,
  PHOENIX_TOPIC,
  JoinErrorReason,
  TERMINAL_RESPONSE_STATUSES,
  channelTopic,
  ClientEvent,
} from './protocol.js';

export type {
  Frame,
  ReplyPayload,
  JoinPayload,
  JoinOkResponse,
  JoinErrorResponse,
  StatusValue,
  StatusPayload,
  TokensPayload,
  ToolCallPayload,
  ResponseStatus,
  Usage,
  Attempt,
  ResponseMeta,
  ErrorBody,
  ResponsePayload,
  ServerEventMap,
  ServerEventName,
  ServerEvent,
} from './protocol.js';

export type {
  AIResponse,
  ConnectionState,
  StreamStatus,
  WorkflowStepStatus,
  WorkflowStep,
  ToolCallState,
  StreamMetrics,
  StreamState,
  ModelRiverState,
  ConnectOptions,
  ConnectParams,
  AsyncResponse,
  TokenGrant,
  BackoffOptions,
  NotifyMode,
  KeyValueStorage,
  Timers,
  WebSocketHandler,
  WebSocketLike,
  WebSocketConstructor,
  LifecycleSource,
  PushBufferOptions,
  ModelRiverClientOptions,
  ProtocolErrorInfo,
  DropInfo,
  ConnectingInfo,
  JoinedInfo,
  ConnectionTransition,
  ModelRiverErrorLike,
  ModelRiverEventMap,
  ModelRiverEventType,
  StreamEvent,
  PartialData,
  ModelRiverCallbacks,
} from './types.js';
