/** Stable codes of {@link WebhookConfigError}. */
export const WebhookConfigErrorCode = {
  invalidSecret: 'invalid_webhook_secret',
  invalidRetrySchedule: 'invalid_retry_schedule',
  invalidTimeout: 'invalid_webhook_timeout',
  invalidOption: 'invalid_webhook_option',
} as const;

export type WebhookConfigErrorCode = (typeof WebhookConfigErrorCode)[keyof typeof WebhookConfigErrorCode];

/**
 * Thrown by `createWebhookDispatcher` when its options cannot work. It is the only error the
 * dispatcher throws: once running, every failure becomes a failed attempt in the delivery log.
 *
 * @example
 * ```ts
 * try {
 *   createWebhookDispatcher({ secret: 'not-a-secret' });
 * } catch (err) {
 *   if (err instanceof WebhookConfigError && err.code === 'invalid_webhook_secret') console.error(err.message);
 * }
 * ```
 */
export class WebhookConfigError extends Error {
  override readonly name = 'WebhookConfigError';
  constructor(
    readonly code: WebhookConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}
