/**
 * The one error type of webhook verification (and signing). Its `code` is stable (switch on it),
 * its `message` is for humans, and `hint` says how to fix the usual integration mistakes.
 */
import { ModelRiverError } from '@modelriver/client/errors';

/** Stable codes of {@link WebhookVerificationError}. */
export const WebhookErrorCode = {
  /** Neither a complete `mr-*` nor a complete `webhook-*` header set was sent. */
  missingHeader: 'missing_header',
  /** A header is present but malformed (timestamp not an integer, signature list unreadable). */
  invalidHeader: 'invalid_header',
  /** No signature matched any of the secrets. */
  badSignature: 'bad_signature',
  /** The signed timestamp is further from now than the tolerance (either direction). */
  timestampOutOfRange: 'timestamp_out_of_range',
  /** The secret option is missing, empty, or unusable for the scheme the headers use. */
  invalidSecret: 'invalid_secret',
  /** The body is an object, not the raw bytes: a JSON parser already consumed the request. */
  bodyAlreadyParsed: 'body_already_parsed',
  /** The signature is valid but the body is not JSON or not a known webhook shape (or no body was given). */
  invalidBody: 'invalid_body',
  /** The raw body exceeds the adapter's size limit. */
  bodyTooLarge: 'body_too_large',
  /** The runtime lacks the crypto this function needs (use the other verify function). */
  unsupportedRuntime: 'unsupported_runtime',
  /** An option other than the secret is invalid (e.g. a negative tolerance). */
  invalidOptions: 'invalid_options',
} as const;
export type WebhookErrorCode = (typeof WebhookErrorCode)[keyof typeof WebhookErrorCode];

/**
 * Thrown (or rejected) when a webhook cannot be trusted or read. A {@link ModelRiverError}, so
 * `instanceof ModelRiverError` and `ModelRiverError.is(err, 'bad_signature')` catch it too.
 * Never contains the secret.
 *
 * @example
 * ```ts
 * try {
 *   verifyWebhook({ body, headers, secret });
 * } catch (err) {
 *   if (err instanceof WebhookVerificationError && err.code === 'timestamp_out_of_range') console.warn(err.hint);
 *   throw err;
 * }
 * ```
 */
export class WebhookVerificationError extends ModelRiverError {
  declare readonly code: WebhookErrorCode;
  /** How to fix it, when the cause is evident (a parsed or re-serialised body, clock skew…). */
  readonly hint: string | undefined;
  /** The HTTP status an endpoint should answer: 400 for bad deliveries, 413, or 500 for misconfiguration. */
  readonly status: number;

  constructor(code: WebhookErrorCode, message: string, hint?: string) {
    super(code, hint ? `${message} Hint: ${hint}` : message);
    this.hint = hint;
    // Misconfiguration is the server's fault (500); a bad delivery is the sender's (400).
    this.status = code === 'body_too_large' ? 413 : /secret|parsed|runtime|options/.test(code) ? 500 : 400;
  }

  /** `{name, code, message, hint?}`: safe to log or send (no secret, no body). */
  toJSON(): { name: string; code: WebhookErrorCode; message: string; hint?: string } {
    return { name: this.name, code: this.code, message: this.message, ...(this.hint ? { hint: this.hint } : {}) };
  }
}

// On the prototype rather than as a class field: the stack header is written inside super(),
// before a field would be set.
WebhookVerificationError.prototype.name = 'WebhookVerificationError';
