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
  /**
   * Carries attempts of deliveries whose url is {@link CLI_WEBHOOK_TARGET} ("deliver through
   * connected CLIs") instead of an HTTP POST. Without it they fail like an unreachable endpoint.
   */
  cliTransport?: (input: CliTransportInput) => Promise<CliTransportOutcome>;
  /** Told of every attempt, for the request log. */
  onAttempt?: (delivery: WebhookDelivery, attempt: WebhookAttemptLog) => void;
  /** Told when a delivery succeeds or is dead-lettered. */
  onSettled?: (delivery: WebhookDelivery) => void;
}

/**
 * The webhook target meaning "deliver through the CLIs listening for this project" (the hosted
 * console's "Localhost CLI" type): accepted wherever a webhook URL is.
 */
export const CLI_WEBHOOK_TARGET = 'cli';

/** One attempt handed to the CLI transport: the exact signed bytes and their headers. */
export interface CliTransportInput {
  projectId: string;
  deliveryId: string;
  channelId: string;
  payload: string;
  headers: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** How a CLI attempt ended: the local target's status, or why there is none. */
export type CliTransportOutcome = { ok: true; status: number } | { ok: false; status?: number; error?: string };

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

/** What a caller hands to {@link WebhookDispatcher.deliver}. */
export interface WebhookDeliveryInput {
  url: string;
  channelId: string;
  projectId?: string;
  /** Signs this delivery instead of the dispatcher's own (a project's secret). */
  secret?: string;
  body: WebhookEvent;
}

/**
 * Signs and posts webhooks, retries them on a schedule, dead-letters the ones that never succeed.
 * Whatever stores the deliveries (this process's memory, or a queue in Redis shared by several
 * gateway nodes), `deliver` is synchronous and never throws, so a request never waits on, or
 * fails because of, the store; the reads are asynchronous because the store may be remote, and
 * reject (503 `store_unavailable`) while it is unreachable.
 */
export interface WebhookDispatcher {
  /**
   * Hands a webhook over for delivery and returns its delivery at hand-over (`pending`, no
   * attempts). A second `deliver` of an id already known sends nothing more. Never throws.
   */
  deliver(input: WebhookDeliveryInput): WebhookDelivery;
  /**
   * Resolves once the delivery last handed over with this id is in the dispatcher's keeping (at
   * once in memory; in Redis when its job is), so that losing this process cannot lose it:
   * `true`, or `false` when it never got there (dropped and reported, or the dispatcher closed
   * first). Never rejects.
   */
  queued(deliveryId: string): Promise<boolean>;
  /** Dead-lettered deliveries, oldest first; only `projectId`'s when given. */
  deadLetters(projectId?: string): Promise<WebhookDelivery[]>;
  /**
   * Puts a dead-lettered delivery back in line with a fresh retry schedule (first attempt at
   * once). Pending or delivered ones are left as they are. Undefined when the id is unknown.
   */
  replay(deliveryId: string): Promise<WebhookDelivery | undefined>;
  /** The delivery with this id, while it is remembered, with every attempt made so far. */
  get(deliveryId: string): Promise<WebhookDelivery | undefined>;
  /** Stops attempting (attempts in flight are aborted) and releases timers and connections. Idempotent. */
  close(): Promise<void>;
}
