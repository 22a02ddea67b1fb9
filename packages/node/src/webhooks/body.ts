import type { WebhookEvent, WebhookType } from '../wire.js';
import { WebhookVerificationError } from './errors.js';

/** The raw body exactly as received: text or bytes. Never a parsed object. */
export type WebhookBody = string | Uint8Array | ArrayBuffer;

// Messages stay short: this module counts against the webhooks entry's size budget (bench/node/size.ts).
const RAW_BODY_HINT =
  'Pass the raw body bytes: Express: webhookMiddleware or express.raw({type:"application/json"}) before any JSON parser; Next.js: await req.text().';

/** Text or bytes of the body, or a typed error saying why this is not a raw body. */
export function rawBody(body: unknown): string | Uint8Array {
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  throw body == null
    ? new WebhookVerificationError('invalid_body', 'No body given.', RAW_BODY_HINT)
    : new WebhookVerificationError('body_already_parsed', `The body is a parsed ${typeof body}, not the raw bytes the signature covers.`, RAW_BODY_HINT);
}

/** Decodes UTF-8; `fatal` rejects invalid sequences instead of replacing them. */
export function utf8(bytes: Uint8Array, fatal: boolean): string {
  return new TextDecoder('utf-8', { fatal }).decode(bytes);
}

/** The event types this version knows. */
export const TYPES: readonly WebhookType[] = ['task.completed', 'task.failed', 'task.ai_generated'];

/** Parses a verified body into the typed event; `invalid_body` when it is not a known shape. */
export function parseEvent(body: string | Uint8Array): WebhookEvent {
  let value: unknown;
  try {
    value = JSON.parse(typeof body === 'string' ? body : utf8(body, true));
  } catch {
    throw new WebhookVerificationError('invalid_body', 'Signed body is not UTF-8 JSON.');
  }
  const e = value as Record<string, unknown> | null;
  const bad =
    !e || typeof e !== 'object' || Array.isArray(e)
      ? 'body'
      : typeof e.id !== 'string' || !e.id
        ? 'id'
        : !TYPES.includes(e.type as WebhookType)
          ? 'type'
          : typeof e.channel_id !== 'string'
            ? 'channel_id'
            : e.type === 'task.ai_generated' && typeof e.callback_url !== 'string'
              ? 'callback_url'
              : null;
  if (bad) throw new WebhookVerificationError('invalid_body', `Signed body is not a known webhook (bad "${bad}").`);
  return value as WebhookEvent;
}

/**
 * After a signature mismatch: says so when the body was evidently parsed or re-serialised
 * on its way in (the commonest integration mistake), else nothing.
 */
export function reserialisedHint(body: string | Uint8Array): string | undefined {
  const text = typeof body === 'string' ? body : utf8(body, false);
  if (text === '[object Object]') {
    return `"[object Object]" is a stringified parsed object. ${RAW_BODY_HINT}`;
  }
  let compact: string;
  try {
    compact = JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
  return compact === text
    ? undefined
    : `The JSON differs from its compact form: it was likely parsed and re-serialised. ${RAW_BODY_HINT}`;
}
