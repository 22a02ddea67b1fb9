/**
 * Checks of the options both dispatchers share (the in-memory one and the BullMQ one), so a bad
 * setting fails the same way whichever store a gateway runs on.
 */
import { signWebhook } from '@modelriver/node';
import { WebhookConfigError, WebhookConfigErrorCode } from './errors.js';

const SECRET_HINT = 'secret must be "whsec_" followed by base64 (e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)';

/**
 * Whether `secret` can sign a webhook. `signWebhook` is the authority on what it accepts, so it is
 * asked once up front instead of failing every attempt later.
 *
 * @example
 * ```ts
 * isUsableSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'); // true
 * isUsableSecret('hunter2'); // false
 * ```
 */
export function isUsableSecret(secret: unknown): secret is string {
  if (typeof secret !== 'string' || secret.length === 0) return false;
  try {
    signWebhook({ body: '{}', secret, id: 'probe', timestamp: 0 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns `secret` when it can sign, else throws the dispatcher's configuration error.
 *
 * @throws WebhookConfigError `invalid_webhook_secret`.
 * @example
 * ```ts
 * const secret = requireSecret(options.secret);
 * ```
 */
export function requireSecret(secret: unknown): string {
  if (!isUsableSecret(secret)) throw new WebhookConfigError(WebhookConfigErrorCode.invalidSecret, SECRET_HINT);
  return secret;
}

/**
 * Reads a count option (a non-negative integer), falling back to `fallback` when absent.
 *
 * @throws WebhookConfigError `invalid_webhook_option`.
 * @example
 * ```ts
 * countOption('maxDead', undefined, 1_000); // 1000
 * countOption('maxDead', -1, 1_000); // throws
 * ```
 */
export function countOption(name: string, value: number | undefined, fallback: number): number {
  const count = value ?? fallback;
  if (!Number.isInteger(count) || count < 0) {
    throw new WebhookConfigError(WebhookConfigErrorCode.invalidOption, `${name} must be a non-negative integer, got ${String(count)}`);
  }
  return count;
}
