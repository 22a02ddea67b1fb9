/**
 * The one error class of the gateway's API: an HTTP status plus a stable snake_case `code`,
 * answered as `{"error": {"code", "message"}}`.
 */

/** Codes the gateway answers with (others, such as a callback's own code, pass through). */
export const ErrorCode = {
  unauthorized: 'unauthorized',
  invalidJson: 'invalid_json',
  invalidRequest: 'invalid_request',
  missingField: 'missing_field',
  invalidField: 'invalid_field',
  notFound: 'not_found',
  workflowNotFound: 'workflow_not_found',
  methodNotAllowed: 'method_not_allowed',
  invalidState: 'invalid_state',
  channelExpired: 'channel_expired',
  idempotencyKeyReused: 'idempotency_key_reused',
  bodyTooLarge: 'body_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  malformedRequest: 'malformed_request',
  headersTooLarge: 'headers_too_large',
  requestTimeout: 'request_timeout',
  rateLimited: 'rate_limited',
  internalError: 'internal_error',
  invalidStructuredOutput: 'invalid_structured_output',
  callbackTimeout: 'callback_timeout',
  cancelled: 'cancelled',
  /** The shared store (Redis) did not answer: retry shortly. */
  storeUnavailable: 'store_unavailable',
} as const;

/**
 * An error the HTTP layer answers as is.
 *
 * @example
 * ```ts
 * throw new GatewayError(400, ErrorCode.invalidField, 'messages[0].content must be a string');
 * ```
 */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
