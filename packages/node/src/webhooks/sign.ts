import { standardWebhooksKey } from './encoding.js';
import { WebhookVerificationError } from './errors.js';
import { loadNodeCrypto } from './node-crypto.js';

export { standardWebhooksKey };

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

/**
 * Both header sets of contract §3. A type alias (not an interface) so that it is assignable
 * to header records such as `WebhookHeaders` and `HeadersInit`.
 */
export type WebhookSignatureHeaders = {
  'mr-timestamp': string;
  'mr-webhook-id': string;
  'mr-signature': string;
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

/**
 * Signs a webhook body with both header sets: `mr-signature` (hex HMAC-SHA256 keyed by the
 * whole secret string, over `{timestamp}.{body}`) and the Standard Webhooks headers
 * (`v1,` + base64 HMAC-SHA256 keyed by the decoded secret, over `{id}.{timestamp}.{body}`).
 * Meant for gateways and for tests of webhook receivers. Needs `node:crypto` (else it throws a
 * `WebhookVerificationError` `unsupported_runtime`); a secret that is not `whsec_<base64>` throws `invalid_secret`.
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
  const crypto = loadNodeCrypto();
  if (!crypto) throw new WebhookVerificationError('unsupported_runtime', 'signWebhook needs node:crypto, which this runtime lacks.');
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new WebhookVerificationError('invalid_body', 'signWebhook: body must be the string or bytes to send.');
  }
  const key = standardWebhooksKey(secret);
  if (!key) throw new WebhookVerificationError('invalid_secret', 'signWebhook: the secret must be "whsec_" followed by base64.');
  const ts = String(timestamp);
  const mr = crypto.createHmac('sha256', secret).update(`${ts}.`).update(body).digest('hex');
  const sw = crypto.createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64');
  return {
    'mr-timestamp': ts,
    'mr-webhook-id': id,
    'mr-signature': mr,
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': `v1,${sw}`,
  };
}
