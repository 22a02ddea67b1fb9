import { toBase64, toHex } from './encoding.js';
import { WebhookVerificationError } from './errors.js';
import {
  matchesSignature,
  planVerification,
  settleSignature,
  withEvent,
  type PlannedKey,
  type SecretKeys,
  type VerificationPlan,
  type VerifiedSignature,
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  type WebhookDelivery,
} from './verify-core.js';

/**
 * {@link verifyWebhook} on WebCrypto (`globalThis.crypto.subtle`): for Workers, Deno, Bun,
 * edge runtimes and browsers, where `node:crypto` may be missing. Same options, result and
 * errors; rejects instead of throwing.
 *
 * @example
 * ```ts
 * export async function POST(req: Request) {
 *   const { event } = await verifyWebhookAsync({ body: await req.text(), headers: req.headers, secret: env.MODELRIVER_WEBHOOK_SECRET });
 *   return Response.json({ received: event.id });
 * }
 * ```
 */
export async function verifyWebhookAsync(options: VerifyWebhookOptions): Promise<VerifiedWebhook> {
  const plan = planVerification(options);
  return withEvent(plan, await check(plan));
}

/**
 * {@link verifyWebhookAsync} with HMAC keys prepared once by `secretKeys` instead of the
 * options' secrets: for long-lived endpoints. Internal (not exported by the package).
 *
 * @example
 * ```ts
 * const keys = secretKeys({ secrets });
 * const verified = await verifyWithKeysAsync({ body, headers }, keys);
 * ```
 */
export async function verifyWithKeysAsync(options: WebhookDelivery, keys: SecretKeys): Promise<VerifiedWebhook> {
  // Repeated from verifyWebhookAsync rather than shared, so the public entry's bundle stays as small as before.
  const plan = planVerification(options, keys);
  return withEvent(plan, await check(plan));
}

/**
 * {@link verifyWebhookSignatureAsync} with HMAC keys prepared once by `secretKeys`. Internal
 * (not exported by the package).
 *
 * @example
 * ```ts
 * const { scheme } = await verifySignatureWithKeysAsync({ body, headers }, secretKeys({ secret }));
 * ```
 */
export async function verifySignatureWithKeysAsync(options: WebhookDelivery, keys: SecretKeys): Promise<VerifiedSignature> {
  return check(planVerification(options, keys));
}

/**
 * {@link verifyWebhookSignature} on WebCrypto: checks any payload's signature, leaves the body unparsed.
 *
 * @example
 * ```ts
 * const { scheme } = await verifyWebhookSignatureAsync({ body: await req.text(), headers: req.headers, secret: 'whsec_…' });
 * ```
 */
export async function verifyWebhookSignatureAsync(options: VerifyWebhookOptions): Promise<VerifiedSignature> {
  return check(planVerification(options));
}

const encoder = new TextEncoder();

async function check(plan: VerificationPlan): Promise<VerifiedSignature> {
  const subtle = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!subtle) {
    throw new WebhookVerificationError('unsupported_runtime', 'No WebCrypto (crypto.subtle) here.');
  }
  const message = signedMessage(plan);
  for (const planned of plan.keys) {
    const mac = new Uint8Array(await subtle.sign('HMAC', await hmacKey(subtle, plan, planned), message));
    if (matchesSignature(plan, plan.encoding === 'hex' ? toHex(mac) : toBase64(mac))) {
      return settleSignature(plan, planned.index);
    }
  }
  return settleSignature(plan, -1);
}

/** `prefix + body` as one buffer (WebCrypto cannot hash in parts), encoding a text body in one pass. */
function signedMessage({ prefix, body }: VerificationPlan): BufferSource {
  if (typeof body === 'string') {
    const out = new Uint8Array((prefix.length + body.length) * 3);
    const head = encoder.encodeInto(prefix, out).written;
    return out.subarray(0, head + encoder.encodeInto(body, out.subarray(head)).written);
  }
  const head = encoder.encode(prefix);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

// Importing a key costs about as much as hashing a small body; secrets are few, so keep them.
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(subtle: SubtleCrypto, plan: VerificationPlan, { secret, key }: PlannedKey): Promise<CryptoKey> {
  const id = `${plan.scheme}:${secret}`;
  let found = keys.get(id);
  if (!found) {
    if (keys.size >= 32) keys.clear();
    // Our own freshly decoded bytes: never a SharedArrayBuffer view.
    const raw = (typeof key === 'string' ? encoder.encode(key) : key) as BufferSource;
    found = subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    // A failed import must not stick in the cache.
    found.catch(() => keys.delete(id));
    keys.set(id, found);
  }
  return found;
}
