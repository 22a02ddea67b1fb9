/**
 * Turns what a caller hands to `deliver` into a delivery both dispatchers can send: the id, the
 * target, the body serialised once (the exact bytes every attempt signs) and the secret. Input
 * that can never be sent is not rejected: it becomes a delivery marked `invalid`, which the
 * dispatcher dead-letters at once with one failed attempt saying why.
 */
import { randomUUID } from 'node:crypto';
import type { WebhookType } from '@modelriver/node';
import { isPlainObject } from '../values.js';
import { isUsableSecret } from './options.js';
import { CLI_WEBHOOK_TARGET, type WebhookDelivery, type WebhookDeliveryInput } from './types.js';

/** A delivery ready to be attempted. */
export interface PreparedDelivery {
  /** Its public view, `state: 'pending'` and no attempts yet. */
  delivery: WebhookDelivery;
  /** The body serialised once ('' when invalid). */
  payload: string;
  /** Signs every attempt: the input's own secret, else the dispatcher's. */
  secret: string;
  /** Why it can never be sent (`invalid_delivery: …`); absent when it can. */
  invalid?: string;
}

/**
 * Prepares `input` (of any shape: callers are not trusted) for delivery. Never throws.
 *
 * @example
 * ```ts
 * const prepared = prepareDelivery({ url, channelId, body: event }, secret);
 * if (prepared.invalid) console.log(prepared.invalid); // dead at once
 * ```
 */
export function prepareDelivery(input: WebhookDeliveryInput | undefined, defaultSecret: string): PreparedDelivery {
  const raw = (isPlainObject(input) ? input : {}) as Record<string, unknown>;
  const { body, url, channelId, projectId, secret: ownSecret } = raw;
  const bodyId = isPlainObject(body) ? body['id'] : undefined;
  const bodyType = isPlainObject(body) ? body['type'] : undefined;
  const id = typeof bodyId === 'string' && bodyId.length > 0 ? bodyId : `invalid_${randomUUID()}`;
  const delivery: WebhookDelivery = {
    id,
    url: typeof url === 'string' ? url : String(url),
    channelId: typeof channelId === 'string' ? channelId : String(channelId),
    ...(typeof projectId === 'string' ? { projectId } : {}),
    type: (typeof bodyType === 'string' ? bodyType : 'task.failed') as WebhookType,
    state: 'pending',
    attempts: [],
  };
  let problem = checkInput(url, channelId, body, bodyId);
  let payload = '';
  if (problem === undefined) {
    const serialised = serialise(body);
    if (typeof serialised === 'string') payload = serialised;
    else problem = serialised.problem;
  }
  let secret = defaultSecret;
  if (ownSecret !== undefined) {
    if (isUsableSecret(ownSecret)) secret = ownSecret;
    else problem ??= 'secret must be "whsec_" followed by base64';
  }
  return { delivery, payload, secret, ...(problem !== undefined ? { invalid: `invalid_delivery: ${problem}` } : {}) };
}

/** Returns why the input can never be delivered, or undefined when it can. */
function checkInput(url: unknown, channelId: unknown, body: unknown, bodyId: unknown): string | undefined {
  if (!isPlainObject(body)) return 'body must be a webhook event object';
  if (typeof bodyId !== 'string' || bodyId.length === 0) return 'body.id must be a non-empty string';
  if (typeof channelId !== 'string' || channelId.length === 0) return 'channelId must be a non-empty string';
  if (typeof url !== 'string') return 'url must be a string';
  if (url === CLI_WEBHOOK_TARGET) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `url is not a valid URL: ${url}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url must be http(s), got ${parsed.protocol}`;
  return undefined;
}

/** Serialises once; these bytes are what every attempt signs and sends. */
function serialise(body: unknown): string | { problem: string } {
  try {
    const payload = JSON.stringify(body);
    return typeof payload === 'string' ? payload : { problem: 'body is not JSON-serialisable' };
  } catch (err) {
    return { problem: `body is not JSON-serialisable (${err instanceof Error ? err.message : String(err)})` };
  }
}
