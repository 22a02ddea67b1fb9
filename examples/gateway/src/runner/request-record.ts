/**
 * The per-request record behind `GET /v1/requests/{channel_id}`: what happened, when, in order.
 * Every step of the runner and every webhook attempt is appended here.
 */
import type { Attempt, ErrorBody, Usage } from '@modelriver/client';
import type { RequestLog, WebhookAttemptLog, WebhookType } from '@modelriver/node';

/** Where a request stands (the log's `status`). */
export type RequestStatus =
  | 'queued'
  | 'processing'
  | 'failover'
  | 'ai_generated'
  | 'awaiting_callback'
  | 'success'
  | 'error'
  | 'cancelled'
  | 'completed';

const TERMINAL: ReadonlySet<RequestStatus> = new Set(['success', 'error', 'cancelled', 'completed']);

type WebhookEntry = RequestLog['webhooks'][number];

/** The callback phase of an event-driven request; `cancelled` when the channel was cancelled while waiting. */
export interface CallbackLog {
  deadline: string;
  received_at: string | null;
  status: 'waiting' | 'received' | 'timed_out' | 'cancelled';
}

/**
 * The wire shape of the log: {@link RequestLog} plus the final response body (`content`, `data`),
 * the project, and a callback that can also be `cancelled`.
 */
export interface GatewayRequestLog extends Omit<RequestLog, 'callback'> {
  callback: CallbackLog | null;
  /** The final response's text (every delta of every attempt), `''` until the response. */
  content: string;
  /** The final response's `data` (structured output, a callback's data), else null. */
  data: unknown;
}

/**
 * One request's mutable record; {@link RequestRecord.toLog} gives the wire shape.
 *
 * @example
 * ```ts
 * const record = new RequestRecord(channelId, 'chat', 'async', {}, Date.now(), Date.now);
 * record.setStatus('processing', { provider: 'mock' });
 * record.toLog().timeline; // [{ at, event: 'status:processing', provider: 'mock' }]
 * ```
 */
export class RequestRecord {
  status: RequestStatus = 'queued';
  finishedAt: number | null = null;
  ttftMs: number | null = null;
  durationMs: number | null = null;
  usage: Usage | null = null;
  attempts: Attempt[] = [];
  error: ErrorBody | null = null;
  provider: string | null = null;
  model: string | null = null;
  eventName: string | null = null;
  callback: CallbackLog | null = null;
  /** The latest `response` published (the final one once the request ended). */
  private content = '';
  private data: unknown = null;
  private readonly webhooks = new Map<string, WebhookEntry>();
  private readonly timeline: RequestLog['timeline'] = [];

  constructor(
    readonly channelId: string,
    readonly workflow: string,
    readonly mode: 'async' | 'sync',
    readonly customerData: Record<string, unknown>,
    readonly createdAt: number,
    private readonly now: () => number,
    /** Null only for records made outside the HTTP API (runner tests). */
    readonly projectId: string | null = null,
  ) {}

  /** Records the body of a `response` just published: the log shows what the client got. */
  setResponseBody(content: string, data: unknown): void {
    this.content = content;
    this.data = data === undefined ? null : data;
  }

  /** True while a webhook of this request may still be attempted (the log must outlive it). */
  get webhooksPending(): boolean {
    for (const hook of this.webhooks.values()) if (hook.state === 'pending') return true;
    return false;
  }

  /**
   * Appends a timeline entry stamped with the current time.
   *
   * @example
   * ```ts
   * record.note('failover', { from: 'mock-primary', to: 'mock-secondary', reason: 'provider_unavailable' });
   * ```
   */
  note(event: string, details: Record<string, unknown> = {}): void {
    this.timeline.push({ at: new Date(this.now()).toISOString(), ...details, event });
  }

  /** Records the request's new status, with a timeline entry. */
  setStatus(status: RequestStatus, details: Record<string, unknown> = {}): void {
    this.status = status;
    this.note(`status:${status}`, details);
    if (TERMINAL.has(status) && this.finishedAt === null) this.finishedAt = this.now();
  }

  /** Registers a queued webhook delivery. */
  addWebhook(id: string, type: WebhookType, url: string): void {
    this.webhooks.set(id, { id, type, url, state: 'pending', attempts: [] });
    this.note('webhook_queued', { webhook_id: id, type, url });
  }

  /** Records one delivery attempt (from the dispatcher's `onAttempt`). */
  webhookAttempt(id: string, attempt: WebhookAttemptLog): void {
    const hook = this.webhooks.get(id);
    if (!hook) return;
    hook.attempts.push({ ...attempt });
    this.note('webhook_attempt', {
      webhook_id: id,
      attempt: attempt.attempt,
      ...(attempt.status !== undefined ? { http_status: attempt.status } : {}),
      ...(attempt.error !== undefined ? { error: attempt.error } : {}),
      duration_ms: attempt.duration_ms,
    });
  }

  /** Records a delivery's new state (delivered, dead, or pending again after a replay). */
  webhookState(id: string, state: WebhookEntry['state']): void {
    const hook = this.webhooks.get(id);
    if (!hook || hook.state === state) return;
    hook.state = state;
    this.note(state === 'pending' ? 'webhook_replayed' : `webhook_${state}`, { webhook_id: id });
  }

  /**
   * The wire shape of `GET /v1/requests/{channel_id}` (a copy: later changes don't affect it).
   *
   * @example
   * ```ts
   * res.end(JSON.stringify(record.toLog()));
   * ```
   */
  toLog(): GatewayRequestLog {
    return {
      channel_id: this.channelId,
      workflow: this.workflow,
      status: this.status,
      mode: this.mode,
      created_at: new Date(this.createdAt).toISOString(),
      finished_at: this.finishedAt === null ? null : new Date(this.finishedAt).toISOString(),
      ttft_ms: this.ttftMs,
      duration_ms: this.durationMs,
      usage: this.usage ? { ...this.usage } : null,
      provider: this.provider,
      model: this.model,
      attempts: this.attempts.map((a) => ({ ...a })),
      error: this.error ? { ...this.error } : null,
      event_name: this.eventName,
      customer_data: this.customerData,
      webhooks: [...this.webhooks.values()].map((w) => ({ ...w, attempts: w.attempts.map((a) => ({ ...a })) })),
      callback: this.callback ? { ...this.callback } : null,
      content: this.content,
      data: structuredClone(this.data),
      timeline: this.timeline.map((entry) => ({ ...entry })),
    };
  }
}
