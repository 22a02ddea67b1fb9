/**
 * Wire types of the channel protocol (Phoenix Channels v2, JSON), shared by the
 * client, the reference gateway and the test gateway so that both ends are
 * checked against one definition. See docs/protocol.md.
 */

/** `[join_ref, ref, topic, event, payload]`: every frame on the socket. */
export type Frame = [
  joinRef: string | null,
  ref: string | null,
  topic: string,
  event: string,
  payload: unknown,
];

/** The socket-level topic heartbeats travel on. */
export const PHOENIX_TOPIC = 'phoenix';

/** Phoenix's reserved event names. */
export const PhoenixEvent = {
  join: 'phx_join',
  leave: 'phx_leave',
  reply: 'phx_reply',
  error: 'phx_error',
  close: 'phx_close',
  heartbeat: 'heartbeat',
} as const;

/** The protocol version sent as `vsn` on connect. */
export const PROTOCOL_VSN = '2.0.0';

/** Payload of `phx_reply`. */
export interface ReplyPayload<R = unknown> {
  status: 'ok' | 'error';
  response: R;
}

/** Payload a client sends with `phx_join`. */
export interface JoinPayload {
  /** Highest `seq` the client has applied; the server replays everything after it. */
  last_seq?: number;
}

/** `response` of a successful join reply. */
export interface JoinOkResponse {
  /** The server's latest `seq` for the channel at join time. */
  last_seq: number;
  /** Single-use token for a later connect to the same topic. */
  resume_token: string;
}

/** Reasons a join is refused. */
export const JoinErrorReason = {
  unauthorized: 'unauthorized',
  invalidChannelFormat: 'invalid_channel_format',
  notFound: 'not_found',
} as const;
export type JoinErrorReason = (typeof JoinErrorReason)[keyof typeof JoinErrorReason];

/** `response` of a refused join reply. */
export interface JoinErrorResponse {
  reason: JoinErrorReason | (string & {});
}

/** Values of a `status` event's `status`. */
export type StatusValue = 'queued' | 'processing' | 'failover' | 'ai_generated' | 'awaiting_callback';

/** Server event `status`: progress of the request. */
export interface StatusPayload {
  seq: number;
  status: StatusValue;
  provider?: string;
  model?: string;
  attempt?: number;
  reason?: string;
}

/** Server event `tokens`: text to append. A merged frame covers `first_seq..seq`. */
export interface TokensPayload {
  seq: number;
  delta: string;
  first_seq?: number;
}

/** Server event `tool_call`: a text delta of the JSON arguments of call `index`. */
export interface ToolCallPayload {
  seq: number;
  index: number;
  /** Given on the call's first delta. */
  id?: string;
  /** Given on the call's first delta. */
  name?: string;
  arguments: string;
}

/** Values of a `response` event's `status`. `ai_generated` is the only non-terminal one. */
export type ResponseStatus = 'success' | 'error' | 'cancelled' | 'ai_generated' | 'completed';

/** Statuses after which the channel sends nothing more. */
export const TERMINAL_RESPONSE_STATUSES: readonly ResponseStatus[] = ['success', 'error', 'cancelled', 'completed'];

/** Token usage reported by the provider. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** One provider attempt of a request (failover lists several). */
export interface Attempt {
  provider: string;
  model: string;
  status: 'success' | 'error' | 'cancelled' | (string & {});
  error?: string;
  duration_ms: number;
}

/** `meta` of a `response` event. */
export interface ResponseMeta {
  provider?: string;
  model?: string;
  duration_ms?: number;
  ttft_ms?: number;
  usage?: Usage;
  attempts?: Attempt[];
  structured_output?: boolean;
  [key: string]: unknown;
}

/** `{code, message}`: the error shape used on the wire and over HTTP. */
export interface ErrorBody {
  code: string;
  message: string;
}

/** Server event `response`: the final (or, for `ai_generated`, intermediate) result. */
export interface ResponsePayload {
  seq: number;
  status: ResponseStatus;
  channel_id: string;
  /** The whole text: equal to the concatenated `tokens`. */
  content?: string;
  /** Parsed structured output, where the workflow has a schema. */
  data?: unknown;
  model?: string;
  meta: ResponseMeta;
  error?: ErrorBody;
  customer_data?: Record<string, unknown>;
  event_name?: string;
  ai_response?: { data: unknown };
  task_id?: string;
  callback_metadata?: Record<string, unknown>;
  /**
   * The channel's last seq: this response's own `seq`. Set by gateways that implement the
   * stream digest extension.
   */
  last_seq?: number;
  /** SHA-256 of `content`, set by gateways that implement the stream digest extension (lowercase hex of its UTF-8 bytes). */
  content_sha256?: string;
}

/** Server events by name. */
export interface ServerEventMap {
  status: StatusPayload;
  tokens: TokensPayload;
  tool_call: ToolCallPayload;
  response: ResponsePayload;
}
export type ServerEventName = keyof ServerEventMap;

/** A validated server event: a union on `event`. */
export type ServerEvent = {
  [K in ServerEventName]: { event: K; payload: ServerEventMap[K] };
}[ServerEventName];

/** Client pushes beyond Phoenix's own. */
export const ClientEvent = { cancel: 'cancel' } as const;

/** `ai_response:{project_id}:{channel_id}` */
export function channelTopic(projectId: string, channelId: string): string {
  return `ai_response:${projectId}:${channelId}`;
}
