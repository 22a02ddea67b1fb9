/**
 * Validation of request bodies. Every message names the offending field
 * (`messages[0].content must be a string`), and codes are stable: `missing_field` for an absent
 * required field, `invalid_field` for a present but wrong one, `invalid_request` for the body as a whole.
 */
import type { CallbackBody, ChatMessage, DeliveryMethod } from '@modelriver/node';
import { ErrorCode, GatewayError } from '../errors.js';
import { isPlainObject, isUuid } from '../values.js';
import { CLI_WEBHOOK_TARGET } from '../webhooks/types.js';

/** A validated `POST /v1/ai(/async)` body. */
export interface AiRequestInput {
  workflow: string;
  messages: ChatMessage[];
  metadata: Record<string, unknown>;
  webhookUrl: string | null;
  deliveryMethod: DeliveryMethod;
  events: string[];
}

const DELIVERY_METHODS: readonly DeliveryMethod[] = ['websocket', 'webhook', 'both'];

const missing = (field: string): GatewayError => new GatewayError(400, ErrorCode.missingField, `${field} is required`);
const invalid = (field: string, what: string): GatewayError => new GatewayError(400, ErrorCode.invalidField, `${field} ${what}`);

function requireObject(body: unknown): Record<string, unknown> {
  if (!isPlainObject(body)) throw new GatewayError(400, ErrorCode.invalidRequest, 'the request body must be a JSON object');
  return body;
}

/**
 * Validates an AI request body. Unknown fields are ignored (forward compatibility).
 *
 * @example
 * ```ts
 * const input = parseAiRequest({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export function parseAiRequest(raw: unknown): AiRequestInput {
  const body = requireObject(raw);

  if (body['workflow'] === undefined || body['workflow'] === null) throw missing('workflow');
  if (typeof body['workflow'] !== 'string' || body['workflow'].trim() === '') throw invalid('workflow', 'must be a non-empty string');

  if (body['messages'] === undefined || body['messages'] === null) throw missing('messages');
  if (!Array.isArray(body['messages'])) throw invalid('messages', 'must be an array of {role, content}');
  if (body['messages'].length === 0) throw invalid('messages', 'must contain at least one message');
  const messages = body['messages'].map((m: unknown, i: number): ChatMessage => {
    const at = `messages[${i}]`;
    if (!isPlainObject(m)) throw invalid(at, 'must be an object {role, content}');
    if (m['role'] === undefined) throw missing(`${at}.role`);
    if (typeof m['role'] !== 'string' || m['role'] === '') throw invalid(`${at}.role`, 'must be a non-empty string');
    if (m['content'] === undefined) throw missing(`${at}.content`);
    if (typeof m['content'] !== 'string') throw invalid(`${at}.content`, 'must be a string');
    return { role: m['role'], content: m['content'] };
  });

  let metadata: Record<string, unknown> = {};
  if (body['metadata'] !== undefined && body['metadata'] !== null) {
    if (!isPlainObject(body['metadata'])) throw invalid('metadata', 'must be an object');
    metadata = body['metadata'];
  }

  let webhookUrl: string | null = null;
  if (body['webhook_url'] !== undefined && body['webhook_url'] !== null) {
    if (typeof body['webhook_url'] !== 'string') throw invalid('webhook_url', 'must be a string');
    webhookUrl = parseWebhookTarget(body['webhook_url']);
    if (webhookUrl === null) throw invalid('webhook_url', `must be an absolute http(s) URL or "${CLI_WEBHOOK_TARGET}"`);
  }

  let deliveryMethod: DeliveryMethod = 'websocket';
  if (body['delivery_method'] !== undefined && body['delivery_method'] !== null) {
    if (!DELIVERY_METHODS.includes(body['delivery_method'] as DeliveryMethod)) {
      throw invalid('delivery_method', `must be one of ${DELIVERY_METHODS.join(', ')}`);
    }
    deliveryMethod = body['delivery_method'] as DeliveryMethod;
  }

  let events: string[] = [];
  if (body['events'] !== undefined && body['events'] !== null) {
    if (!Array.isArray(body['events'])) throw invalid('events', 'must be an array of strings');
    events = body['events'].map((e: unknown, i: number) => {
      if (typeof e !== 'string' || e.trim() === '') throw invalid(`events[${i}]`, 'must be a non-empty string');
      return e;
    });
  }

  return { workflow: body['workflow'], messages, metadata, webhookUrl, deliveryMethod, events };
}

/**
 * A webhook target as given by a request or a workflow: an absolute http(s) URL (normalised), or
 * `"cli"` for delivery through connected CLI listeners; null when it is neither.
 *
 * @example
 * ```ts
 * parseWebhookTarget('cli');                     // 'cli'
 * parseWebhookTarget('https://example.com/hook'); // 'https://example.com/hook'
 * parseWebhookTarget('ftp://x');                  // null
 * ```
 */
export function parseWebhookTarget(value: string): string | null {
  if (value === CLI_WEBHOOK_TARGET) return CLI_WEBHOOK_TARGET;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
}

/**
 * Validates a callback body: `{data, task_id?, metadata?}` or `{error, message}`.
 *
 * @example
 * ```ts
 * parseCallbackBody({ data: { ticket: 42 }, task_id: 't_1' });
 * parseCallbackBody({ error: 'crm_down', message: 'CRM unavailable' });
 * ```
 */
export function parseCallbackBody(raw: unknown): CallbackBody {
  const body = requireObject(raw);
  const hasError = body['error'] !== undefined && body['error'] !== null;
  if (hasError) {
    if ('data' in body) throw new GatewayError(400, ErrorCode.invalidRequest, 'give either data or error, not both');
    if (typeof body['error'] !== 'string' || !/^[A-Za-z0-9_.:-]{1,100}$/.test(body['error'])) {
      throw invalid('error', 'must be a code of 1-100 letters, digits, "_", ".", ":" or "-"');
    }
    if (body['message'] === undefined) throw missing('message');
    if (typeof body['message'] !== 'string') throw invalid('message', 'must be a string');
    return { error: body['error'], message: body['message'] };
  }
  if (!('data' in body)) throw missing('data');
  const result: { data: unknown; task_id?: string; metadata?: Record<string, unknown> } = { data: body['data'] };
  if (body['task_id'] !== undefined && body['task_id'] !== null) {
    if (typeof body['task_id'] !== 'string') throw invalid('task_id', 'must be a string');
    result.task_id = body['task_id'];
  }
  if (body['metadata'] !== undefined && body['metadata'] !== null) {
    if (!isPlainObject(body['metadata'])) throw invalid('metadata', 'must be an object');
    result.metadata = body['metadata'];
  }
  return result;
}

/**
 * Validates a reconnect body `{channel_id}`.
 *
 * @example
 * ```ts
 * parseReconnectBody({ channel_id: ack.channel_id }).channelId;
 * ```
 */
export function parseReconnectBody(raw: unknown): { channelId: string } {
  const body = requireObject(raw);
  if (body['channel_id'] === undefined || body['channel_id'] === null) throw missing('channel_id');
  if (!isUuid(body['channel_id'])) throw invalid('channel_id', 'must be a UUID');
  return { channelId: body['channel_id'] };
}
