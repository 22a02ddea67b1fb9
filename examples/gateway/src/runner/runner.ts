/**
 * The request runner: drives one request from acceptance to its terminal `response` — provider
 * attempts with failover (mid-stream continuation included), structured-output validation and
 * retry, tool-call streaming, cancel, webhooks, and the event-driven callback phase.
 */
import { createHash } from 'node:crypto';
import type { Attempt, ErrorBody, ResponseMeta, ResponsePayload, Usage } from '@modelriver/client';
import type { CallbackBody, ChatMessage, WebhookEvent, WebhookType } from '@modelriver/node';
import type { ChannelHandle, ChannelHooks, ChannelHub } from '../channels/types.js';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ProviderError, type Provider } from '../providers/provider.js';
import type { Timers, TimerHandle } from '../timers.js';
import type { WebhookDispatcher } from '../webhooks/types.js';
import type { Workflow } from '../workflows.js';
import { localCoordinator, type CoordinatorHost, type RunCoordinator, type RunSpec } from './coordinator.js';
import { readProgress } from './progress.js';
import type { RequestRecord } from './request-record.js';
import type { RequestLogStore } from './request-store.js';
import { guardStream } from './stall-guard.js';
import { checkStructuredOutput } from './structured-output.js';

/** A validated AI request, ready to run. */
export interface AcceptedRequest {
  /** The project of the key that sent it: its channel, log and webhooks belong to it. Default: the hub's. */
  projectId?: string;
  /** Signs its webhooks. Default: the dispatcher's secret. */
  webhookSecret?: string;
  workflow: Workflow;
  messages: ChatMessage[];
  /** Echoed as `customer_data`. */
  metadata: Record<string, unknown>;
  webhookUrl: string | null;
  /** Non-empty: event-driven (so is a workflow with an `event`). */
  events: string[];
}

/** What the runner needs. */
export interface RunnerDeps {
  hub: ChannelHub;
  dispatcher: WebhookDispatcher;
  store: RequestLogStore;
  /** The other gateway nodes (leases, takeover, callback routing). Default: none. */
  coordinator?: RunCoordinator;
  /** Workflows by name: a request taken over from another node names its workflow. */
  workflows?: ReadonlyMap<string, Workflow>;
  stallTimeoutMs: number;
  callbackTimeoutMs: number;
  structuredOutputRetries: number;
  timers: Timers;
  now: () => number;
  logger: Logger;
}

/** What {@link Runner.start} returns. */
export interface StartedRequest {
  record: RequestRecord;
  /** Resolves once another node could continue the request (at once without other nodes). */
  saved: Promise<void>;
  /** The first `response` published: terminal, or `ai_generated` for event-driven requests. */
  firstResponse: Promise<ResponsePayload>;
}

type AttemptOutcome =
  | { kind: 'done'; text: string }
  | { kind: 'failed'; text: string; error: ErrorBody }
  | { kind: 'cancelled' };

/** The live state of one running request. */
interface Run {
  channelId: string;
  request: AcceptedRequest;
  /** The request by value, as another node would need it to continue. */
  spec: RunSpec;
  record: RequestRecord;
  handle: ChannelHandle;
  /** Every text delta published, concatenated: the response's `content`. */
  content: string;
  ttftMs: number | null;
  usage: Usage | null;
  attempts: Attempt[];
  provider: Provider | null;
  /** Aborts the provider attempt under way. */
  abort: AbortController | null;
  cancelled: boolean;
  finished: boolean;
  /** Tool-call indexes already used by earlier attempts (a retried call gets a new index). */
  toolIndexBase: number;
  meta: ResponseMeta | null;
  data: unknown;
  eventName: string | null;
  callbackTimer: TimerHandle | null;
  /** Seq of the latest `response` published: what its webhook reports as `last_seq`. */
  lastResponseSeq?: number;
  resolveFirst: (payload: ResponsePayload) => void;
  firstResolved: boolean;
}

/** Where generation starts: the first provider, or where a node that died left off. */
interface GenerationState {
  index: number;
  attemptNumber: number;
  output: string;
  next: { status: 'processing' | 'failover'; reason?: string };
}

const START: GenerationState = { index: 0, attemptNumber: 0, output: '', next: { status: 'processing' } };

/** A run's state before anything happened; `rest` sets what a takeover knows already. */
function newRun(spec: RunSpec, request: AcceptedRequest, record: RequestRecord, handle: ChannelHandle, rest: Partial<Run>): Run {
  return {
    channelId: spec.channelId,
    request,
    spec,
    record,
    handle,
    content: '',
    ttftMs: null,
    usage: null,
    attempts: [],
    provider: null,
    abort: null,
    cancelled: false,
    finished: false,
    toolIndexBase: 0,
    meta: null,
    data: undefined,
    eventName: request.events[0] ?? request.workflow.event,
    callbackTimer: null,
    resolveFirst: () => {},
    firstResolved: true,
    ...rest,
  };
}

/** Lowercase hex SHA-256 of the UTF-8 bytes (the stream digest extension). */
function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ProviderError) return { code: err.code, message: err.message };
  if (err instanceof Error && err.name === 'AbortError') return { code: 'aborted', message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'provider_error', message: message || 'the provider failed' };
}

/** `{data}` for a workflow with a schema (its validated output), nothing otherwise. */
function dataField(run: Run): { data?: unknown } {
  return run.request.workflow.schema ? { data: run.data } : {};
}

function addUsage(total: Usage | null, more: Usage): Usage {
  const n = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  return {
    prompt_tokens: (total?.prompt_tokens ?? 0) + n(more.prompt_tokens),
    completion_tokens: (total?.completion_tokens ?? 0) + n(more.completion_tokens),
    total_tokens: (total?.total_tokens ?? 0) + n(more.total_tokens),
  };
}

/**
 * Runs requests. One instance per gateway.
 *
 * @example
 * ```ts
 * const runner = new Runner({ hub, dispatcher, store, stallTimeoutMs: 10_000, callbackTimeoutMs: 300_000,
 *   structuredOutputRetries: 1, timers: systemTimers, now: Date.now, logger: quietLogger });
 * const { record } = runner.start(randomUUID(), request, 'async', 'http://127.0.0.1:8787');
 * ```
 */
export class Runner implements CoordinatorHost {
  private readonly runs = new Map<string, Run>();
  private readonly coordinator: RunCoordinator;

  constructor(private readonly deps: RunnerDeps) {
    this.coordinator = deps.coordinator ?? localCoordinator();
    this.coordinator.bind(this);
  }

  /** Number of requests not yet terminal. */
  get active(): number {
    return this.runs.size;
  }

  /**
   * Opens the channel, publishes `queued` and starts generating at once (not when a client joins).
   */
  start(channelId: string, request: AcceptedRequest, mode: 'async' | 'sync', publicBase: string): StartedRequest {
    const { hub, store, now } = this.deps;
    const record = store.create(channelId, request.workflow.name, mode, request.metadata, request.projectId ?? null);
    let resolveFirst!: (payload: ResponsePayload) => void;
    const firstResponse = new Promise<ResponsePayload>((resolve) => {
      resolveFirst = resolve;
    });
    const handle = hub.open(channelId, this.hooksFor(channelId, request.projectId ?? null));
    const spec: RunSpec = {
      channelId,
      projectId: request.projectId ?? null,
      webhookSecret: request.webhookSecret ?? null,
      workflow: request.workflow.name,
      messages: request.messages,
      metadata: request.metadata,
      webhookUrl: request.webhookUrl,
      events: request.events,
      mode,
      publicBase,
      startedAt: now(),
    };
    const run = newRun(spec, request, record, handle, { resolveFirst, firstResolved: false });
    this.runs.set(channelId, run);
    const saved = this.coordinator.started(spec);
    record.eventName = run.eventName;
    record.note('accepted', { workflow: request.workflow.name, mode, event_driven: run.eventName !== null });
    handle.publish('status', { status: 'queued' });
    record.setStatus('queued');
    this.launch(run, START);
    return { record, firstResponse, saved };
  }

  private launch(run: Run, from: GenerationState): void {
    void this.generate(run, from).catch((err: unknown) => {
      this.deps.logger.error(`request ${run.channelId} failed unexpectedly`, err);
      this.finishWithError(run, { code: ErrorCode.internalError, message: 'the gateway failed while running this request' });
    });
  }

  /**
   * Continues a request another node ran until it died (its lease lapsed): from the channel's
   * log, announced by `status: failover` with reason `node_lost`, or, if it waited for a
   * callback, by waiting on until the same deadline.
   */
  async takeOver(spec: RunSpec): Promise<void> {
    const { channelId } = spec;
    const workflow = this.deps.workflows?.get(spec.workflow);
    if (this.runs.has(channelId)) return;
    const handle = await this.deps.hub.adopt(channelId, this.hooksFor(channelId, spec.projectId));
    if (handle === undefined || workflow === undefined) {
      if (workflow === undefined) this.deps.logger.error(`request ${channelId}: workflow ${spec.workflow} is not served here; it cannot be continued`);
      this.coordinator.ended(channelId);
      return;
    }
    const progress = readProgress(handle.history());
    const saved = await this.deps.store.read(channelId);
    const record = saved
      ? this.deps.store.adopt(saved)
      : this.deps.store.create(channelId, workflow.name, spec.mode, spec.metadata, spec.projectId);
    const request: AcceptedRequest = {
      ...(spec.projectId !== null ? { projectId: spec.projectId } : {}),
      ...(spec.webhookSecret !== null ? { webhookSecret: spec.webhookSecret } : {}),
      workflow,
      messages: spec.messages,
      metadata: spec.metadata,
      webhookUrl: spec.webhookUrl,
      events: spec.events,
    };
    const lastResponse = progress.lastResponse;
    const run = newRun(spec, request, record, handle, {
      content: progress.content,
      ttftMs: saved?.ttft_ms ?? null,
      usage: saved?.usage ?? null,
      attempts: saved?.attempts ?? [],
      toolIndexBase: progress.toolIndexBase,
      data: lastResponse?.['data'],
    });
    const status = lastResponse?.['status'];
    if (lastResponse !== null) {
      // Its webhooks report what the response said, as the node that died would have.
      run.meta = (lastResponse['meta'] as ResponseMeta | undefined) ?? null;
      if (typeof lastResponse['seq'] === 'number') run.lastResponseSeq = lastResponse['seq'];
    }
    if (status === 'success' || status === 'error' || status === 'cancelled' || status === 'completed') {
      // It had ended; the node may have died before its webhook reached the queue. Sent again
      // under the same id, which the queue keeps once, so it is never sent twice.
      record.note('taken_over', { reason: 'node_lost', phase: 'finished' });
      const webhookId = this.sendTerminalWebhook(run, status, lastResponse?.['error'] as ErrorBody | undefined);
      handle.finish();
      this.endOnceQueued(channelId, webhookId);
      return;
    }
    this.runs.set(channelId, run);
    record.note('taken_over', { reason: 'node_lost' });
    if (status === 'ai_generated') {
      this.sendAiGeneratedWebhook(run);
      const deadline = spec.callbackDeadline ?? this.deps.now();
      run.callbackTimer = this.deps.timers.setTimeout(() => this.callbackTimedOut(run), Math.max(0, deadline - this.deps.now()));
      if (handle.cancelRequested) this.cancel(channelId, 'client');
      return;
    }
    const providers = workflow.providers;
    const lastAttempt = progress.lastAttempt;
    const index = Math.max(0, providers.findIndex((p) => p.name === lastAttempt?.['provider']));
    const attemptNumber = typeof lastAttempt?.['attempt'] === 'number' ? lastAttempt['attempt'] : 0;
    const provider = providers[index] as Provider;
    run.attempts.push({ provider: provider.name, model: provider.model, duration_ms: 0, status: 'error', error: 'node_lost' });
    // A cancel sent while no node ran it is seen by the first attempt, before any provider call.
    if (handle.cancelRequested) {
      run.cancelled = true;
      record.note('cancel_requested', { by: 'client' });
    }
    this.launch(run, { index, attemptNumber, output: progress.output, next: { status: 'failover', reason: 'node_lost' } });
  }

  private hooksFor(channelId: string, projectId: string | null): ChannelHooks {
    return {
      onCancel: () => this.cancel(channelId, 'client'),
      onFenced: () => this.lost(channelId),
      ...(projectId !== null ? { projectId } : {}),
    };
  }

  /** Another node runs this request now (this one was thought dead): stop, publish nothing. */
  lost(channelId: string): void {
    const run = this.runs.get(channelId);
    if (!run) return;
    this.runs.delete(channelId);
    run.finished = true;
    this.clearCallbackTimer(run);
    run.abort?.abort(new ProviderError('node_lost', 'another gateway node runs this request now'));
    run.handle.release();
  }

  reportError(error: unknown): void {
    this.deps.logger.error('coordination with the other gateway nodes failed', error);
  }

  /**
   * A backend's callback, whichever node runs the request. Rejects with GatewayError 404
   * (unknown channel), 409 `invalid_state` (not awaiting a callback) or 503 (the node running
   * it did not answer).
   */
  async routeCallback(channelId: string, body: CallbackBody): Promise<void> {
    if (this.runs.has(channelId)) return this.callback(channelId, body);
    if (await this.coordinator.routeCallback(channelId, body)) return;
    const log = await this.deps.store.read(channelId);
    if (!log) throw new GatewayError(404, ErrorCode.notFound, `channel ${channelId} not found`);
    throw new GatewayError(409, ErrorCode.invalidState, `channel ${channelId} is ${log.status}, not awaiting a callback`);
  }

  /**
   * Cancels a request (client `cancel` push): aborts the provider, or ends the wait for a
   * callback; the channel ends with a `cancelled` response. A no-op on a finished request.
   */
  cancel(channelId: string, by: 'client' | 'gateway' = 'client'): void {
    const run = this.runs.get(channelId);
    if (!run || run.finished || run.cancelled) return;
    run.cancelled = true;
    run.record.note('cancel_requested', { by });
    if (run.abort) {
      run.abort.abort(new ProviderError(ErrorCode.cancelled, 'the request was cancelled'));
    } else if (run.record.status === 'awaiting_callback' || run.record.status === 'ai_generated') {
      this.finishCancelled(run);
    }
    // Otherwise generate() is between attempts and sees `cancelled` at the next one.
  }

  /**
   * Applies a backend callback to an event-driven request awaiting one.
   * Throws GatewayError 404 (unknown channel) or 409 `invalid_state` (not awaiting a callback).
   */
  callback(channelId: string, body: CallbackBody): void {
    const run = this.runs.get(channelId);
    if (!run) throw new GatewayError(404, ErrorCode.notFound, `channel ${channelId} is not running on this node`);
    if (run.record.status !== 'awaiting_callback') {
      const why = run.eventName === null ? 'its workflow is not event-driven' : `it is ${run.record.status}`;
      throw new GatewayError(409, ErrorCode.invalidState, `channel ${channelId} is not awaiting a callback: ${why}`);
    }
    this.clearCallbackTimer(run);
    const receivedAt = new Date(this.deps.now()).toISOString();
    if (run.record.callback) run.record.callback = { ...run.record.callback, received_at: receivedAt, status: 'received' };
    if ('error' in body) {
      run.record.note('callback_received', { outcome: 'error', code: body.error });
      this.finishWithError(run, { code: body.error, message: body.message });
      return;
    }
    run.record.note('callback_received', { outcome: 'data', ...(body.task_id !== undefined ? { task_id: body.task_id } : {}) });
    this.finish(run, 'completed', {
      data: body.data,
      ...(body.task_id !== undefined ? { task_id: body.task_id } : {}),
      ...(body.metadata !== undefined ? { callback_metadata: body.metadata } : {}),
      ...(run.eventName !== null ? { event_name: run.eventName } : {}),
    });
  }

  /**
   * Stops everything (gateway shutdown): aborts providers, clears deadlines. Publishes nothing.
   * With other nodes, the requests under way are released for one of them to continue.
   */
  async close(): Promise<void> {
    for (const run of this.runs.values()) {
      run.finished = true;
      this.clearCallbackTimer(run);
      run.abort?.abort(new ProviderError('gateway_closing', 'the gateway is shutting down'));
    }
    this.runs.clear();
    await this.coordinator.close();
  }

  // ---------------------------------------------------------------- generation

  private async generate(run: Run, from: GenerationState): Promise<void> {
    const { workflow } = run.request;
    const providers = workflow.providers;
    let { index, attemptNumber, output, next } = from; // output: the prefix a continuing provider gets
    let retriesLeft = this.deps.structuredOutputRetries;
    let lastError: ErrorBody = { code: 'provider_unavailable', message: 'no provider could answer' };

    while (true) {
      if (run.finished) return; // closed under us (gateway shutdown)
      if (run.cancelled) return this.finishCancelled(run);
      const provider = providers[index] as Provider;
      attemptNumber++;
      run.provider = provider;
      run.record.provider = provider.name;
      run.record.model = provider.model;
      run.handle.publish('status', {
        status: next.status,
        provider: provider.name,
        model: provider.model,
        attempt: attemptNumber,
        ...(next.reason ? { reason: next.reason } : {}),
      });
      // The log says what the wire said: `status:failover` for a failover.
      run.record.setStatus(next.status, {
        provider: provider.name,
        model: provider.model,
        attempt: attemptNumber,
        ...(next.reason ? { reason: next.reason } : {}),
        ...(output ? { continues_after_chars: output.length } : {}),
      });

      const attemptStart = this.deps.now();
      const outcome = await this.runAttempt(run, provider, output);
      if (run.finished) return;
      const duration = this.deps.now() - attemptStart;
      const base = { provider: provider.name, model: provider.model, duration_ms: duration };

      if (outcome.kind === 'cancelled') {
        run.attempts.push({ ...base, status: 'cancelled' });
        return this.finishCancelled(run);
      }

      if (outcome.kind === 'failed') {
        lastError = outcome.error;
        run.attempts.push({ ...base, status: 'error', error: outcome.error.code });
        run.record.note('attempt_failed', { provider: provider.name, attempt: attemptNumber, code: outcome.error.code, message: outcome.error.message });
        if (index + 1 < providers.length) {
          index++;
          output = outcome.text;
          next = { status: 'failover', reason: outcome.error.code };
          continue;
        }
        const message =
          attemptNumber > 1 ? `all ${attemptNumber} attempts failed; last: ${outcome.error.message}` : outcome.error.message;
        return this.finishWithError(run, { code: lastError.code, message });
      }

      if (workflow.validate) {
        const checked = checkStructuredOutput(outcome.text, workflow.validate);
        if (!checked.ok) {
          run.attempts.push({ ...base, status: 'error', error: ErrorCode.invalidStructuredOutput });
          run.record.note('structured_output_invalid', { provider: provider.name, attempt: attemptNumber, message: checked.message });
          if (retriesLeft > 0) {
            retriesLeft--;
            // Another model is likelier to get it right; with none left, the same one tries again.
            const moved = index + 1 < providers.length;
            if (moved) index++;
            output = '';
            next = { status: moved ? 'failover' : 'processing', reason: ErrorCode.invalidStructuredOutput };
            continue;
          }
          return this.finishWithError(run, { code: ErrorCode.invalidStructuredOutput, message: checked.message });
        }
        run.data = checked.data;
      }
      run.attempts.push({ ...base, status: 'success' });
      return this.finishGenerated(run);
    }
  }

  private async runAttempt(run: Run, provider: Provider, prefix: string): Promise<AttemptOutcome> {
    const { workflow } = run.request;
    const controller = new AbortController();
    run.abort = controller;
    let text = prefix;
    let maxToolIndex = -1;
    try {
      const stream = provider.stream({
        messages: run.request.messages,
        ...(workflow.schema ? { schema: workflow.schema } : {}),
        ...(workflow.tools.length > 0 ? { tools: workflow.tools } : {}),
        ...(prefix ? { prefix } : {}),
        signal: controller.signal,
      });
      const guarded = guardStream(stream, {
        stallTimeoutMs: this.deps.stallTimeoutMs,
        timers: this.deps.timers,
        signal: controller.signal,
        onStall: () => controller.abort(new ProviderError('provider_stalled', 'the provider stalled')),
      });
      for await (const chunk of guarded) {
        if (run.cancelled) break;
        if (chunk.type === 'text') {
          if (typeof chunk.delta !== 'string' || chunk.delta.length === 0) continue;
          if (run.ttftMs === null) {
            run.ttftMs = this.deps.now() - run.spec.startedAt;
            run.record.ttftMs = run.ttftMs;
            run.record.note('first_token', { provider: provider.name, ttft_ms: run.ttftMs });
          }
          run.handle.publish('tokens', { delta: chunk.delta });
          text += chunk.delta;
          run.content += chunk.delta;
        } else if (chunk.type === 'tool_call') {
          if (!Number.isInteger(chunk.index) || chunk.index < 0 || typeof chunk.arguments !== 'string') continue;
          maxToolIndex = Math.max(maxToolIndex, chunk.index);
          if (chunk.name !== undefined) {
            run.record.note('tool_call', { provider: provider.name, index: run.toolIndexBase + chunk.index, name: chunk.name });
          }
          run.handle.publish('tool_call', {
            index: run.toolIndexBase + chunk.index,
            arguments: chunk.arguments,
            ...(chunk.id !== undefined ? { id: chunk.id } : {}),
            ...(chunk.name !== undefined ? { name: chunk.name } : {}),
          });
        } else if (chunk.type === 'usage') {
          run.usage = addUsage(run.usage, chunk.usage);
          run.record.usage = run.usage;
        }
      }
      return run.cancelled ? { kind: 'cancelled' } : { kind: 'done', text };
    } catch (err) {
      if (run.cancelled) return { kind: 'cancelled' };
      return { kind: 'failed', text, error: toErrorBody(err) };
    } finally {
      run.abort = null;
      if (!controller.signal.aborted) controller.abort(new ProviderError('attempt_over', 'attempt finished'));
      run.toolIndexBase += maxToolIndex + 1;
    }
  }

  // ---------------------------------------------------------------- endings

  /**
   * The response meta, built once when generation ends (and recorded) so the `ai_generated`
   * response, the final one and their webhooks all report the same generation figures.
   */
  private metaOf(run: Run): ResponseMeta {
    if (run.meta === null) {
      run.meta = this.buildMeta(run);
      run.record.durationMs = run.meta.duration_ms ?? null;
      run.record.attempts = run.attempts;
    }
    return run.meta;
  }

  private buildMeta(run: Run): ResponseMeta {
    const meta: ResponseMeta = {
      provider: run.provider?.name,
      model: run.provider?.model,
      duration_ms: this.deps.now() - run.spec.startedAt,
      attempts: run.attempts.map((a) => ({ ...a })),
      structured_output: run.request.workflow.schema !== null,
    };
    if (run.ttftMs !== null) meta.ttft_ms = run.ttftMs;
    if (run.usage) meta.usage = { ...run.usage };
    return meta;
  }

  /** Generation succeeded: `success`, or `ai_generated` + wait for the callback. */
  private finishGenerated(run: Run): void {
    if (run.finished) return;
    if (run.eventName === null) {
      this.finish(run, 'success', dataField(run));
      return;
    }
    const aiData = run.request.workflow.schema ? run.data : { content: run.content };
    const payload = this.publishResponse(run, 'ai_generated', {
      ...dataField(run),
      event_name: run.eventName,
      ai_response: { data: aiData },
    });
    run.record.setStatus('ai_generated', { event_name: run.eventName });
    const deadline = this.deps.now() + this.deps.callbackTimeoutMs;
    run.spec.callbackDeadline = deadline;
    this.coordinator.updated(run.spec);
    run.record.callback = { deadline: new Date(deadline).toISOString(), received_at: null, status: 'waiting' };
    run.callbackTimer = this.deps.timers.setTimeout(() => this.callbackTimedOut(run), this.deps.callbackTimeoutMs);
    run.handle.publish('status', { status: 'awaiting_callback' });
    run.record.setStatus('awaiting_callback', { deadline: run.record.callback.deadline });
    this.sendAiGeneratedWebhook(run);
    this.resolveFirst(run, payload);
  }

  /** `task.ai_generated`: the backend's cue to enrich the result and call back. */
  private sendAiGeneratedWebhook(run: Run): void {
    this.sendWebhook(run, 'task.ai_generated', 'ai_generated', {
      ...dataField(run),
      event: run.eventName,
      ai_response: { data: run.request.workflow.schema ? run.data : { content: run.content } },
      callback_url: `${run.spec.publicBase}/v1/callback/${run.channelId}`,
      callback_required: true,
    });
  }

  /**
   * The terminal response's webhook (`task.completed` or `task.failed`); returns its id, or null
   * when none is sent. A request the backend completed itself needs no webhook about it.
   */
  private sendTerminalWebhook(run: Run, status: unknown, error: ErrorBody | undefined): string | null {
    if (status === 'success') return this.sendWebhook(run, 'task.completed', 'success', dataField(run));
    if (status !== 'error' && status !== 'cancelled') return null;
    return this.sendWebhook(run, 'task.failed', status, {
      error: error ?? { code: ErrorCode.cancelled, message: 'the request was cancelled' },
    });
  }

  private callbackTimedOut(run: Run): void {
    run.callbackTimer = null;
    if (run.finished || run.record.status !== 'awaiting_callback') return;
    if (run.record.callback) run.record.callback = { ...run.record.callback, status: 'timed_out' };
    run.record.note('callback_timeout');
    this.finishWithError(run, {
      code: ErrorCode.callbackTimeout,
      message: `no callback received within ${this.deps.callbackTimeoutMs} ms`,
    });
  }

  private finishCancelled(run: Run): void {
    this.clearCallbackTimer(run);
    if (run.record.callback?.status === 'waiting') run.record.callback = { ...run.record.callback, status: 'cancelled' };
    this.finish(run, 'cancelled', {});
  }

  private finishWithError(run: Run, error: ErrorBody): void {
    this.clearCallbackTimer(run);
    this.finish(run, 'error', { error });
  }

  /** Publishes the terminal response, records it, sends its webhook and closes the channel. */
  private finish(
    run: Run,
    status: 'success' | 'error' | 'cancelled' | 'completed',
    extra: Partial<Omit<ResponsePayload, 'seq' | 'status' | 'channel_id' | 'meta'>>,
  ): void {
    if (run.finished) return;
    run.finished = true;
    this.runs.delete(run.channelId);
    run.abort?.abort(new ProviderError(ErrorCode.cancelled, 'the request has ended'));
    const payload = this.publishResponse(run, status, extra);
    if (extra.error) run.record.error = extra.error;
    run.record.setStatus(status, extra.error ? { code: extra.error.code } : {});
    const webhookId = this.sendTerminalWebhook(run, status, extra.error);
    try {
      run.handle.finish();
    } catch (err) {
      this.deps.logger.error(`channel ${run.channelId}: finish() failed`, err);
    }
    this.endOnceQueued(run.channelId, webhookId);
    this.resolveFirst(run, payload);
  }

  /**
   * Gives up the request's lease once its webhook is in the queue, not before: if this node dies
   * in between, another takes the request over and sends the webhook (see {@link takeOver}). A
   * webhook the dispatcher dropped (reported by it) ends the request all the same.
   */
  private endOnceQueued(channelId: string, webhookId: string | null): void {
    if (webhookId === null) {
      this.coordinator.ended(channelId);
      return;
    }
    void this.deps.dispatcher.queued(webhookId).then(() => this.coordinator.ended(channelId));
  }

  private publishResponse(
    run: Run,
    status: ResponsePayload['status'],
    extra: Partial<Omit<ResponsePayload, 'seq' | 'status' | 'channel_id' | 'meta'>>,
  ): ResponsePayload {
    const body: Omit<ResponsePayload, 'seq'> = {
      status,
      channel_id: run.channelId,
      content: run.content,
      // One writer per channel, so the response's seq is known before it is published.
      last_seq: run.handle.lastSeq + 1,
      content_sha256: sha256(run.content),
      ...(run.provider ? { model: run.provider.model } : {}),
      meta: this.metaOf(run),
      customer_data: run.request.metadata,
      ...extra,
    };
    const seq = run.handle.publish('response', body);
    run.lastResponseSeq = seq;
    run.record.setResponseBody(body.content ?? '', 'data' in body ? body.data : null);
    run.record.note('response', { status, seq, ...(extra.error ? { code: extra.error.code } : {}) });
    return { ...body, seq };
  }

  private resolveFirst(run: Run, payload: ResponsePayload): void {
    if (run.firstResolved) return;
    run.firstResolved = true;
    run.resolveFirst(payload);
  }

  private clearCallbackTimer(run: Run): void {
    if (run.callbackTimer !== null) {
      this.deps.timers.clearTimeout(run.callbackTimer);
      run.callbackTimer = null;
    }
  }

  /** Hands a webhook to the dispatcher; returns its id, or null when there is nothing to wait for. */
  private sendWebhook(run: Run, type: WebhookType, status: string, extra: Record<string, unknown>): string | null {
    const url = run.request.webhookUrl;
    if (!url) return null;
    // One id per request and type: a node continuing the request cannot send a second one.
    const id = `evt_${sha256(`${run.channelId}:${type}`).slice(0, 32)}`;
    // Settled already (the queue may have forgotten it since): a node continuing the request sends nothing.
    const known = run.record.webhookStateOf(id);
    if (known === 'delivered' || known === 'dead') return null;
    const body = {
      id,
      type,
      workflow: run.request.workflow.name,
      status,
      channel_id: run.channelId,
      content: run.content,
      last_seq: run.lastResponseSeq,
      content_sha256: sha256(run.content),
      meta: this.metaOf(run),
      customer_data: run.request.metadata,
      timestamp: new Date(this.deps.now()).toISOString(),
      ...extra,
    } as WebhookEvent;
    run.record.addWebhook(id, type, url);
    try {
      this.deps.dispatcher.deliver({
        url,
        channelId: run.channelId,
        ...(run.request.projectId !== undefined ? { projectId: run.request.projectId } : {}),
        ...(run.request.webhookSecret !== undefined ? { secret: run.request.webhookSecret } : {}),
        body,
      });
    } catch (err) {
      // The dispatcher promises not to throw; if it does, the request itself must still end well.
      this.deps.logger.error(`webhook ${id} for ${run.channelId} could not be queued`, err);
      run.record.webhookState(id, 'dead');
      return null;
    }
    return id;
  }
}
