import { WebhookVerificationError } from './errors.js';
import { loadNodeCrypto } from './node-crypto.js';
import {
  matchesSignature,
  planVerification,
  settleSignature,
  withEvent,
  type VerificationPlan,
  type VerifiedSignature,
  type SecretKeys,
  type VerifiedWebhook,
  type VerifyWebhookOptions,
  type WebhookDelivery,
} from './verify-core.js';

/**
 * Verifies a webhook delivery with `node:crypto` (Node, Bun, Deno) and returns the typed
 * event. Accepts the Standard Webhooks headers (`webhook-id`/`-timestamp`/`-signature`,
 * preferred) or the `mr-signature`/`mr-timestamp` pair; checks the timestamp both ways
 * against `toleranceSec`; tries every secret of `secrets` (rotation). Throws a
 * {@link WebhookVerificationError} with a stable `code` otherwise. On runtimes without
 * `node:crypto` use {@link verifyWebhookAsync}.
 *
 * @example
 * ```ts
 * import { verifyWebhook } from '@modelriver/node/webhooks';
 *
 * const { event } = verifyWebhook({ body: rawBodyText, headers: req.headers, secret: process.env.MODELRIVER_WEBHOOK_SECRET! });
 * if (event.type === 'task.completed') console.log(event.channel_id, event.data);
 * ```
 */
export function verifyWebhook(options: VerifyWebhookOptions): VerifiedWebhook {
  const plan = planWithNodeCrypto(options);
  return withEvent(plan, check(plan));
}

/**
 * {@link verifyWebhook} with HMAC keys prepared once by `secretKeys` instead of the options'
 * secrets: for long-lived endpoints. Internal (not exported by the package).
 *
 * @example
 * ```ts
 * const keys = secretKeys({ secret });
 * const verified = verifyWithKeys({ body, headers }, keys);
 * ```
 */
export function verifyWithKeys(options: WebhookDelivery, keys: SecretKeys): VerifiedWebhook {
  // Two lines repeated from verifyWebhook rather than shared, so the public entry's bundle stays as small as before.
  const plan = planWithNodeCrypto(options, keys);
  return withEvent(plan, check(plan));
}

/**
 * {@link verifyWebhookSignature} with HMAC keys prepared once by `secretKeys`: the handler
 * checks the signature first, then reads the event itself so that a verified event of a type it
 * does not know can still be acknowledged. Internal (not exported by the package).
 *
 * @example
 * ```ts
 * const { scheme } = verifySignatureWithKeys({ body, headers }, secretKeys({ secret }));
 * ```
 */
export function verifySignatureWithKeys(options: WebhookDelivery, keys: SecretKeys): VerifiedSignature {
  return check(planWithNodeCrypto(options, keys));
}

/**
 * The signature half of {@link verifyWebhook}: checks headers, timestamp and signature of
 * any payload (not only ModelRiver events) and leaves the body unparsed.
 *
 * @example
 * ```ts
 * const { scheme, timestamp } = verifyWebhookSignature({ body, headers, secret: 'whsec_…' });
 * const payload = JSON.parse(body);
 * ```
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): VerifiedSignature {
  return check(planWithNodeCrypto(options));
}

function planWithNodeCrypto(options: WebhookDelivery, keys?: SecretKeys): VerificationPlan & { crypto: NonNullable<ReturnType<typeof loadNodeCrypto>> } {
  const crypto = loadNodeCrypto();
  if (!crypto) {
    throw new WebhookVerificationError('unsupported_runtime', 'No node:crypto here: use verifyWebhookAsync.');
  }
  return { ...planVerification(options, keys), crypto };
}

function check(plan: ReturnType<typeof planWithNodeCrypto>): VerifiedSignature {
  for (const { index, key } of plan.keys) {
    // Hashing the string directly lets Node encode it while hashing: no UTF-8 copy of the body.
    const digest = plan.crypto.createHmac('sha256', key).update(plan.prefix).update(plan.body).digest(plan.encoding);
    if (matchesSignature(plan, digest)) return settleSignature(plan, index);
  }
  return settleSignature(plan, -1);
}
