/**
 * Webhook fixtures for tests: events of each type, signed with both header sets.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { signWebhook, type WebhookSignatureHeaders } from '../../src/webhooks/sign.js';
import type { WebhookEvent } from '../../src/wire.js';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const OTHER_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD';
/** A fixed "now" for tests: 2025-01-01T00:00:00Z. */
export const NOW_MS = Date.UTC(2025, 0, 1);
export const NOW_SEC = NOW_MS / 1000;

const meta = { provider: 'mock', model: 'mock-1', duration_ms: 12, ttft_ms: 3 };

/** A `task.completed` event. */
export function completedEvent(overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  return {
    id: 'evt_completed_1',
    type: 'task.completed',
    workflow: 'chat',
    status: 'success',
    channel_id: '7d1a6a8e-0a0f-4c47-9a57-1b2c3d4e5f60',
    content: 'Hello there',
    meta,
    customer_data: { user: 'u1' },
    timestamp: '2025-01-01T00:00:00.000Z',
    ...overrides,
  } as WebhookEvent;
}

/** A `task.ai_generated` event whose callback goes to `callbackBase`. */
export function aiGeneratedEvent(callbackBase = 'http://127.0.0.1:9/', overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  const channel = '9b8c7d6e-1111-4222-8333-444455556666';
  return {
    id: 'evt_ai_1',
    type: 'task.ai_generated',
    workflow: 'chat-event',
    status: 'ai_generated',
    channel_id: channel,
    meta,
    customer_data: {},
    timestamp: '2025-01-01T00:00:00.000Z',
    event: 'chat-event',
    ai_response: { data: { answer: 42 } },
    callback_url: new URL(`/v1/callback/${channel}`, callbackBase).toString(),
    callback_required: true,
    ...overrides,
  } as WebhookEvent;
}

/** A `task.failed` event. */
export function failedEvent(overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  return completedEvent({ id: 'evt_failed_1', type: 'task.failed', status: 'error', ...overrides } as Partial<WebhookEvent>);
}

export interface SignedDelivery {
  body: string;
  headers: WebhookSignatureHeaders & { 'content-type': string };
}

/** Serialises (once) and signs like the gateway does. */
export function signedDelivery(
  event: WebhookEvent | string,
  opts: { secret?: string; timestampSec?: number; id?: string } = {},
): SignedDelivery {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const id = opts.id ?? (typeof event === 'string' ? 'msg_1' : event.id);
  const headers = signWebhook({ body, secret: opts.secret ?? SECRET, id, timestamp: opts.timestampSec ?? NOW_SEC });
  return { body, headers: { ...headers, 'content-type': 'application/json' } };
}

/** Only the Standard Webhooks headers of a delivery. */
export function standardOnly(h: WebhookSignatureHeaders): Record<string, string> {
  return { 'webhook-id': h['webhook-id'], 'webhook-timestamp': h['webhook-timestamp'], 'webhook-signature': h['webhook-signature'] };
}

/** Only the mr-* headers of a delivery. */
export function mrOnly(h: WebhookSignatureHeaders): Record<string, string> {
  return { 'mr-signature': h['mr-signature'], 'mr-timestamp': h['mr-timestamp'] };
}

export interface StandardVector {
  name: string;
  secret: string;
  id: string;
  timestamp: number;
  payload?: string;
  payload_repeat?: { char: string; count: number };
  signature: string;
}

export interface VectorsFile {
  valid: StandardVector[];
  must_fail_for_SW: string[];
  must_pass_multi_signature_for_SW: string;
}

/**
 * Loads test/vectors/standard-webhooks.json (its sources: test/vectors/README.md). It is part
 * of the repository: a test run reads nothing outside it.
 */
export function loadStandardVectors(): VectorsFile {
  const path = fileURLToPath(new URL('../vectors/standard-webhooks.json', import.meta.url));
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { valid: StandardVector[] };
  return {
    valid: raw.valid,
    must_fail_for_SW: raw['must_fail_for_SW-1'] as string[],
    must_pass_multi_signature_for_SW: raw['must_pass_multi_signature_for_SW-1'] as string,
  };
}

/** A vector's payload text. */
export function vectorPayload(v: StandardVector): string {
  return v.payload ?? v.payload_repeat!.char.repeat(v.payload_repeat!.count);
}
