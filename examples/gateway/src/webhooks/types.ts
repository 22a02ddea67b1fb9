import type { WebhookAttemptLog, WebhookEvent, WebhookType } from '@modelriver/node';

export interface WebhookDispatcherOptions {
  /** `whsec_…` signing secret. */
  secret: string;
  /** Delays before each retry. Default: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h. */
  retryScheduleMs?: number[];
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** Epoch ms. */
  now?: () => number;
  /** Told of every attempt, for the request log. */
  onAttempt?: (delivery: WebhookDelivery, attempt: WebhookAttemptLog) => void;
  /** Told when a delivery succeeds or is dead-lettered. */
  onSettled?: (delivery: WebhookDelivery) => void;
}

export interface WebhookDelivery {
  /** The body's `id`; kept across retries and replays. */
  id: string;
  url: string;
  channelId: string;
  /** The project the delivery belongs to (only its keys see it in the dead letters). */
  projectId?: string;
  type: WebhookType;
  state: 'pending' | 'delivered' | 'dead';
  attempts: WebhookAttemptLog[];
}

/** Signs and posts webhooks, retries them on a schedule, dead-letters the ones that never succeed. */
export interface WebhookDispatcher {
  /** `secret` signs this delivery instead of the dispatcher's own (a project's secret). */
  deliver(input: { url: string; channelId: string; projectId?: string; secret?: string; body: WebhookEvent }): WebhookDelivery;
  deadLetters(): WebhookDelivery[];
  /** Puts a dead-lettered delivery back in line (first attempt at once). */
  replay(deliveryId: string): WebhookDelivery | undefined;
  /** The delivery with this id, while it is remembered (optional: added by the dispatcher helper). */
  get?(deliveryId: string): WebhookDelivery | undefined;
  close(): void;
}
