/**
 * Wire types of the gateway's HTTP API and webhooks (contract §1 and §3), shared by
 * this package and the reference gateway. Channel payloads live in `@modelriver/client`.
 */
import type { ErrorBody, ResponseMeta, ResponseStatus } from '@modelriver/client';

export type { ErrorBody, ResponseMeta };

/** A chat message. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | (string & {});
  content: string;
}

export type DeliveryMethod = 'websocket' | 'webhook' | 'both';

/** Body of `POST /v1/ai/async` and `POST /v1/ai`. */
export interface AiRequestBody {
  workflow: string;
  messages: ChatMessage[];
  /** Echoed as `customer_data` in the ack, the final response and every webhook. */
  metadata?: Record<string, unknown>;
  webhook_url?: string;
  delivery_method?: DeliveryMethod;
  /** Non-empty makes the request event-driven. */
  events?: string[];
}

/** 202 answer of `POST /v1/ai/async`. */
export interface AsyncAck {
  message: 'success';
  status: 'pending';
  channel_id: string;
  project_id: string;
  ws_token: string;
  websocket_url: string;
  websocket_channel: string;
  customer_data: Record<string, unknown>;
}

/** 200 answer of `POST /v1/ai`. */
export interface SyncAnswer {
  status: ResponseStatus;
  channel_id: string;
  content?: string;
  data?: unknown;
  model?: string;
  meta: ResponseMeta;
  customer_data: Record<string, unknown>;
  error?: ErrorBody;
}

/** 200 answer of `POST /v1/ai/reconnect`. */
export interface ReconnectAnswer {
  channel_id: string;
  project_id: string;
  ws_token: string;
  websocket_url: string;
  websocket_channel: string;
}

/** Body of `POST /v1/callback/{channel_id}`: the enriched result, or an error. */
export type CallbackBody =
  | { data: unknown; task_id?: string; metadata?: Record<string, unknown> }
  | { error: string; message: string };

/** Every HTTP error answer. */
export interface ErrorAnswer {
  error: ErrorBody;
}

/** One attempt to deliver a webhook, as the request log shows it. */
export interface WebhookAttemptLog {
  attempt: number;
  at: string;
  status?: number;
  error?: string;
  duration_ms: number;
}

/** `GET /v1/requests/{channel_id}`. */
export interface RequestLog {
  channel_id: string;
  workflow: string;
  status: string;
  created_at: string;
  finished_at: string | null;
  ttft_ms: number | null;
  duration_ms: number | null;
  usage: ResponseMeta['usage'] | null;
  attempts: NonNullable<ResponseMeta['attempts']>;
  webhooks: Array<{ id: string; type: WebhookType; url: string; state: 'pending' | 'delivered' | 'dead'; attempts: WebhookAttemptLog[] }>;
  /** `cancelled` when the channel was cancelled while the gateway waited for the callback. */
  callback: { deadline: string; received_at: string | null; status: 'waiting' | 'received' | 'timed_out' | 'cancelled' } | null;
  timeline: Array<{ at: string; event: string; [key: string]: unknown }>;
  /** The project the request belongs to (the API key's). */
  project_id?: string;
  /** The final response's text, `''` until the response: the log is the request's single source of truth. */
  content?: string;
  /** The final response's `data` (structured output, a callback's data), else null. */
  data?: unknown;
  [key: string]: unknown;
}

export type WebhookType = 'task.completed' | 'task.failed' | 'task.ai_generated';

interface WebhookBase {
  id: string;
  workflow: string;
  status: string;
  channel_id: string;
  data?: unknown;
  content?: string;
  meta: ResponseMeta;
  customer_data: Record<string, unknown>;
  /** ISO 8601. */
  timestamp: string;
  /**
   * Stream digest extension: the channel's last seq when the webhook was sent (the seq of the
   * terminal `response`; for `task.ai_generated`, of the `ai_generated` one). Check a browser's
   * text against it with `verifyStreamDigest`.
   */
  last_seq?: number;
  /** Stream digest extension: lowercase hex SHA-256 of the UTF-8 bytes of `content`. */
  content_sha256?: string;
}

/** A verified webhook delivery: a union on `type`. */
export type WebhookEvent =
  | (WebhookBase & { type: 'task.completed' })
  | (WebhookBase & { type: 'task.failed'; error?: ErrorBody })
  | (WebhookBase & {
      type: 'task.ai_generated';
      event: string;
      ai_response: { data: unknown };
      callback_url: string;
      callback_required: true;
    });
