/**
 * What `POST /api/chat` accepts, checked field by field: a bad request is answered 400 with the
 * contract's `{error: {code, message}}` before anything reaches the gateway.
 */

/** The workflows the picker offers (the reference gateway's built-in ones). */
export const WORKFLOWS = ['chat', 'chat-tools', 'chat-failover', 'chat-structured', 'chat-event'] as const;
export type WorkflowName = (typeof WORKFLOWS)[number];

/** A checked chat request. */
export interface ChatRequest {
  workflow: WorkflowName;
  conversationId: string;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
}

/** A refusal: the contract's error body, always answered 400. */
export interface InputError {
  error: { code: 'invalid_request' | 'missing_field' | 'invalid_field'; message: string };
}

/** Limits that keep one request small: the history is trimmed by the browser, not here. */
export const MAX_MESSAGES = 50;
export const MAX_CONTENT_CHARS = 8_000;
const ID = /^[A-Za-z0-9_-]{1,64}$/;

const refuse = (code: InputError['error']['code'], message: string): InputError => ({ error: { code, message } });

/**
 * Checks a parsed JSON body; returns the request or the reason it is refused.
 *
 * @example
 * ```ts
 * const checked = readChatRequest(req.body);
 * if ('error' in checked) return res.status(400).json(checked);
 * ```
 */
export function readChatRequest(body: unknown): ChatRequest | InputError {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return refuse('invalid_request', 'the body must be a JSON object');
  const b = body as Record<string, unknown>;
  if (b.workflow === undefined) return refuse('missing_field', 'workflow is required');
  if (typeof b.workflow !== 'string' || !(WORKFLOWS as readonly string[]).includes(b.workflow)) {
    return refuse('invalid_field', `workflow must be one of ${WORKFLOWS.join(', ')}`);
  }
  if (b.conversationId === undefined) return refuse('missing_field', 'conversationId is required');
  if (typeof b.conversationId !== 'string' || !ID.test(b.conversationId)) {
    return refuse('invalid_field', 'conversationId must be 1-64 letters, digits, "_" or "-"');
  }
  if (b.messages === undefined) return refuse('missing_field', 'messages is required');
  if (!Array.isArray(b.messages) || b.messages.length === 0 || b.messages.length > MAX_MESSAGES) {
    return refuse('invalid_field', `messages must be an array of 1-${MAX_MESSAGES} messages`);
  }
  const messages: ChatRequest['messages'] = [];
  for (const [i, m] of (b.messages as unknown[]).entries()) {
    const r = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>;
    if (r.role !== 'user' && r.role !== 'assistant') return refuse('invalid_field', `messages[${i}].role must be "user" or "assistant"`);
    if (typeof r.content !== 'string') return refuse('invalid_field', `messages[${i}].content must be a string`);
    if (r.content.trim() === '') return refuse('invalid_field', `messages[${i}].content must not be empty`);
    if (r.content.length > MAX_CONTENT_CHARS) return refuse('invalid_field', `messages[${i}].content is over ${MAX_CONTENT_CHARS} characters`);
    messages.push({ role: r.role, content: r.content });
  }
  if (messages[messages.length - 1]?.role !== 'user') return refuse('invalid_field', 'the last message must be the user\'s');
  return { workflow: b.workflow as WorkflowName, conversationId: b.conversationId, messages };
}

/**
 * A channel id as it may appear in a path (`/api/requests/:id`, the reconnect body).
 *
 * @example
 * ```ts
 * if (!isChannelId(req.params.id)) return res.status(400).json(...);
 * ```
 */
export function isChannelId(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,128}$/.test(value);
}
