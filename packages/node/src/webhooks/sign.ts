import { createHmac } from 'node:crypto';

/** What `signWebhook` needs: the exact body bytes as they will be sent. */
export interface SignWebhookInput {
  /** The raw body exactly as sent. */
  body: string | Uint8Array;
  /** `whsec_…` secret. */
  secret: string;
  /** The delivery id (the body's `id`); kept across retries. */
  id: string;
  /** Unix seconds; each attempt is signed afresh with its own. */
  timestamp: number;
}

/** Both header sets of contract §3. */
export interface WebhookSignatureHeaders {
  'mr-timestamp': string;
  'mr-webhook-id': string;
  'mr-signature': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Decodes the Standard Webhooks key: base64 of what follows `whsec_`.
 * Returns null when the secret is not valid base64.
 */
export function standardWebhooksKey(secret: string): Uint8Array | null {
  const b64 = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (b64.length === 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return null;
  return Buffer.from(b64, 'base64');
}

/**
 * Signs a webhook body with both header sets: `mr-signature` (hex HMAC-SHA256 keyed by the
 * whole secret string, over `{timestamp}.{body}`) and the Standard Webhooks headers
 * (`v1,` + base64 HMAC-SHA256 keyed by the decoded secret, over `{id}.{timestamp}.{body}`).
 * Meant for gateways and for tests of webhook receivers.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ id: 'evt_1', type: 'task.completed' });
 * const headers = signWebhook({ body, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id: 'evt_1', timestamp: Math.floor(Date.now() / 1000) });
 * await fetch(url, { method: 'POST', body, headers: { ...headers, 'content-type': 'application/json' } });
 * ```
 */
export function signWebhook(input: SignWebhookInput): WebhookSignatureHeaders {
  const { body, secret, id, timestamp } = input;
  const ts = String(timestamp);
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const mr = createHmac('sha256', secret).update(`${ts}.`).update(bytes).digest('hex');
  const key = standardWebhooksKey(secret);
  if (!key) throw new TypeError('signWebhook: the secret must be "whsec_" followed by base64');
  const sw = createHmac('sha256', key).update(`${id}.${ts}.`).update(bytes).digest('base64');
  return {
    'mr-timestamp': ts,
    'mr-webhook-id': id,
    'mr-signature': mr,
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': `v1,${sw}`,
  };
}
