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
 * The declared fields of a type with an index signature: `Omit` over such a type keeps only the
 * signature, which would make every field `unknown` to a reader (e.g. {@link RequestRecord.fromLog}).
 */
type NamedKeys<T> = keyof { [K in keyof T as string extends K ? never : number extends K ? never : K]: T[K] };

/**
 * The wire shape of the log: {@link RequestLog} plus the final response body (`content`, `data`),
 * the project, and a callback that can also be `cancelled`.
 */
export interface GatewayRequestLog extends Omit<Pick<RequestLog, NamedKeys<RequestLog>>, 'callback' | 'content' | 'data' | 'project_id'> {
  mode: 'async' | 'sync';
  customer_data: Record<string, unknown>;
  error: ErrorBody | null;
  provider: string | null;
  model: string | null;
  event_name: string | null;
  callback: CallbackLog | null;
  /** The final response's text (every delta of every attempt), `''` until the response. */
  content: string;
  /** The final response's `data` (structured output, a callback's data), else null. */
  data: unknown;
}

/** A timeline entry before it is stamped: what {@link RequestRecord.note} takes. */
export interface TimelineNote {
  event: string;
  details: Record<string, unknown>;
}

/**
 * The timeline entry of a webhook delivery attempt: one definition, so a store that records
 * attempts outside the record (another node delivered it) writes the same entry.
 *
 * @example
 * ```ts
 * const { event, details } = webhookAttemptNote('evt_1', { attempt: 1, at, status: 200, duration_ms: 12 });
 * record.note(event, details);
 * ```
 */
export function webhookAttemptNote(id: string, attempt: WebhookAttemptLog): TimelineNote {
  return {
    event: 'webhook_attempt',
    details: {
      webhook_id: id,
      attempt: attempt.attempt,
      ...(attempt.status !== undefined ? { http_status: attempt.status } : {}),
      ...(attempt.error !== undefined ? { error: attempt.error } : {}),
      duration_ms: attempt.duration_ms,
    },
  };
}

/**
 * The timeline entry of a webhook delivery's new state.
 *
 * @example
 * ```ts
 * webhookStateNote('evt_1', 'pending'); // { event: 'webhook_replayed', details: { webhook_id: 'evt_1' } }
 * ```
 */
export function webhookStateNote(id: string, state: WebhookEntry['state']): TimelineNote {
  return { event: state === 'pending' ? 'webhook_replayed' : `webhook_${state}`, details: { webhook_id: id } };
}

/**
 * The stamped form of a note, exactly as {@link RequestRecord.note} appends it.
 *
 * @example
 * ```ts
 * timelineEntry(Date.now(), webhookStateNote('evt_1', 'dead'));
 * ```
 */
export function timelineEntry(at: number, note: TimelineNote): RequestLog['timeline'][number] {
  return { at: new Date(at).toISOString(), ...note.details, event: note.event };
}

/**
 * The log as a store keeps it: the wire shape plus the project it belongs to, so any node can
 * check ownership (and rebuild the live record) from it alone.
 */
export type StoredRequestLog = GatewayRequestLog & { project_id: string | null };

/** Optional behaviour of a {@link RequestRecord}. */
export interface RequestRecordOptions {
  /**
   * Called after every mutating method (`note`, `setStatus`, `setResponseBody`, `addWebhook`,
   * `webhookAttempt`, `webhookState`). The runner follows every assignment to a public field with
   * one of those, so a store that saves on this hook saves every change.
   */
  onChange?: (record: RequestRecord) => void;
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
    private readonly options: RequestRecordOptions = {},
  ) {}

  /**
   * The live record rebuilt from a stored log (a request taken over from another node). Later
   * changes continue its timeline; `now` stamps them.
   *
   * @example
   * ```ts
   * const log = await logs.read(channelId);
   * const record = log && RequestRecord.fromLog(log, Date.now, { onChange: (r) => save(r) });
   * ```
   */
  static fromLog(log: StoredRequestLog, now: () => number, options: RequestRecordOptions = {}): RequestRecord {
    const record = new RequestRecord(
      log.channel_id,
      log.workflow,
      log.mode,
      structuredClone(log.customer_data),
      Date.parse(log.created_at),
      now,
      log.project_id,
      options,
    );
    record.status = log.status as RequestStatus;
    record.finishedAt = log.finished_at === null ? null : Date.parse(log.finished_at);
    record.ttftMs = log.ttft_ms;
    record.durationMs = log.duration_ms;
    record.usage = log.usage ? { ...log.usage } : null;
    record.attempts = log.attempts.map((a) => ({ ...a }));
    record.error = log.error ? { ...log.error } : null;
    record.provider = log.provider;
    record.model = log.model;
    record.eventName = log.event_name;
    record.callback = log.callback ? { ...log.callback } : null;
    record.content = log.content;
    record.data = structuredClone(log.data);
    for (const hook of log.webhooks) record.webhooks.set(hook.id, { ...hook, attempts: hook.attempts.map((a) => ({ ...a })) });
    for (const entry of log.timeline) record.timeline.push({ ...entry });
    return record;
  }

  /** Records the body of a `response` just published: the log shows what the client got. */
  setResponseBody(content: string, data: unknown): void {
    this.content = content;
    this.data = data === undefined ? null : data;
    this.changed();
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
    this.timeline.push(timelineEntry(this.now(), { event, details }));
    this.changed();
  }

  /** Records the request's new status, with a timeline entry. */
  setStatus(status: RequestStatus, details: Record<string, unknown> = {}): void {
    this.status = status;
    if (TERMINAL.has(status) && this.finishedAt === null) this.finishedAt = this.now();
    // note() reports the change, after finishedAt is set: a save then sees the request finished.
    this.note(`status:${status}`, details);
  }

  /** Registers a queued webhook delivery. */
  /** Records a webhook handed over for delivery; one already recorded (sent again by a node continuing the request) keeps its attempts. */
  addWebhook(id: string, type: WebhookType, url: string): void {
    if (this.webhooks.has(id)) return;
    this.webhooks.set(id, { id, type, url, state: 'pending', attempts: [] });
    this.note('webhook_queued', { webhook_id: id, type, url });
  }

  /** The state of a recorded webhook, `undefined` when none has this id. */
  webhookStateOf(id: string): WebhookEntry['state'] | undefined {
    return this.webhooks.get(id)?.state;
  }

  /** Records one delivery attempt (from the dispatcher's `onAttempt`). */
  webhookAttempt(id: string, attempt: WebhookAttemptLog): void {
    const hook = this.webhooks.get(id);
    if (!hook) return;
    hook.attempts.push({ ...attempt });
    const { event, details } = webhookAttemptNote(id, attempt);
    this.note(event, details);
  }

  /** Records a delivery's new state (delivered, dead, or pending again after a replay). */
  webhookState(id: string, state: WebhookEntry['state']): void {
    const hook = this.webhooks.get(id);
    if (!hook || hook.state === state) return;
    hook.state = state;
    const { event, details } = webhookStateNote(id, state);
    this.note(event, details);
  }

  /**
   * The stored shape: the wire shape plus the project id.
   *
   * @example
   * ```ts
   * await redis.set(key, JSON.stringify(record.toStored()));
   * ```
   */
  toStored(): StoredRequestLog {
    return { ...this.toLog(), project_id: this.projectId };
  }

  private changed(): void {
    this.options.onChange?.(this);
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
