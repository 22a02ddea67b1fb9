export { createWebhookDispatcher, DEFAULT_MAX_DEAD, DEFAULT_MAX_DELIVERED } from './dispatcher.js';
export type { CreateWebhookDispatcherOptions } from './dispatcher.js';
export { createQueueWebhookDispatcher } from './queue-dispatcher.js';
export type { CreateQueueWebhookDispatcherOptions, QueueWebhookDispatcher } from './queue-dispatcher.js';
export { WebhookConfigError, WebhookConfigErrorCode } from './errors.js';
export { DEFAULT_RETRY_SCHEDULE_MS, DEFAULT_WEBHOOK_TIMEOUT_MS, normaliseRetrySchedule, normaliseTimeout } from './schedule.js';
export { postWebhook } from './post.js';
export type { PostWebhookInput, PostWebhookOutcome } from './post.js';
export { CLI_WEBHOOK_TARGET } from './types.js';
export type {
  CliTransportInput,
  CliTransportOutcome,
  WebhookDelivery,
  WebhookDeliveryInput,
  WebhookDispatcher,
  WebhookDispatcherOptions,
} from './types.js';
