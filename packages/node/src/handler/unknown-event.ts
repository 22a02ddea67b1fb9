/**
 * Reading a verified body at an endpoint: a known event, or one of a type this version does
 * not know. The gateway may add event types; a receiver that refuses them makes the gateway
 * retry them for hours and dead-letter them, so an endpoint acknowledges them instead.
 */
import type { WebhookEvent } from '../wire.js';
import { TYPES, parseEvent } from '../webhooks/body.js';

/** A verified event of a `type` this version of the SDK does not know, as delivered. */
export interface UnknownWebhookEvent {
  /** The delivery id, kept across retries. */
  id: string;
  type: string;
  [field: string]: unknown;
}

/**
 * Parses a verified body: `{ event }` for a known type, `{ unknown }` for an object with a
 * string `id` and a `type` that is not one of ours; otherwise throws the `invalid_body`
 * {@link WebhookVerificationError} of `parseEvent` (a known type with a bad shape stays an error).
 *
 * @example
 * ```ts
 * const read = readDeliveredEvent('{"id":"evt_1","type":"task.cancelled","channel_id":"c"}');
 * if ('unknown' in read) console.log(read.unknown.type); // task.cancelled
 * ```
 */
export function readDeliveredEvent(body: string | Uint8Array): { event: WebhookEvent } | { unknown: UnknownWebhookEvent } {
  try {
    return { event: parseEvent(body) };
  } catch (error) {
    const value = looseJson(body);
    if (
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof value.id === 'string' &&
      value.id &&
      typeof value.type === 'string' &&
      value.type &&
      !(TYPES as readonly string[]).includes(value.type)
    ) {
      return { unknown: value as UnknownWebhookEvent };
    }
    throw error;
  }
}

function looseJson(body: string | Uint8Array): Record<string, unknown> | null {
  try {
    // Not UTF-8 JSON: null, and parseEvent's own error stands.
    return JSON.parse(typeof body === 'string' ? body : new TextDecoder('utf-8', { fatal: true }).decode(body)) as Record<string, unknown> | null;
  } catch {
    return null;
  }
}
