/**
 * The stream reducer: one transition function from (state, action) to the
 * next `StreamState`. The client owns the socket and feeds this reducer; React,
 * Vue or plain listeners only ever see its snapshots.
 *
 * Two entry points share one implementation. {@link reduceStream} is pure: it
 * applies the action to a copy and returns the copy, or the input when nothing
 * changed. The client applies actions in place to a private working copy
 * ({@link applyAction}, {@link applyEvent}) and takes a snapshot only when
 * somebody asks for one, so a token costs no allocation. Either way the arrays
 * and objects a snapshot shares (`steps`, `toolCalls`, their elements) are never
 * mutated: they are replaced when an element changes (copy on write), so callers
 * detect changes by `===`. Snapshots are immutable by convention (never frozen:
 * freezing per token costs time on the hot path).
 */
import { isRecord } from './events.js';
import { createPartialJson } from './partial-json.js';
import type { PartialJson } from './partial-json.js';
import type { ResponsePayload, ServerEvent, StatusPayload, TokensPayload, ToolCallPayload, Usage } from './protocol.js';
import type { ConnectionState, StreamMetrics, StreamState, StreamStatus, ToolCallState, WorkflowStep, WorkflowStepStatus } from './types.js';

/** What can happen to a stream. `at` is the client's clock (epoch ms). */
export type StreamAction =
  /** A new `connect()`, or a reload restoring the text received so far. */
  | {
      type: 'start';
      channelId: string;
      at: number;
      restored?: { text: string; lastSeq: number; toolCalls?: ToolCallState[] };
    }
  | { type: 'connection'; state: ConnectionState }
  | { type: 'joined'; at: number }
  /** Already validated; the caller has checked `classifySeq(...) === 'apply'`. */
  | { type: 'event'; event: ServerEvent; at: number }
  /**
   * The event at `seq` (the next one, `lastSeq + 1`) was invalid: move past it
   * without applying anything, so the events after it are not taken for a gap.
   */
  | { type: 'skip'; seq: number }
  /** A client-side failure (unauthorized, token_unavailable, connection_failed, …); terminal. */
  | { type: 'failed'; code: string; message: string; at: number }
  | { type: 'pending'; hasPendingRequest: boolean }
  | { type: 'reset' };

/**
 * Step ids and names, as the hosted SDK reports them. This module writes the ids as literals, so
 * a bundle that does not import this object leaves it out.
 */
export const StepId = {
  queue: 'queue',
  process: 'process',
  receive: 'receive',
  complete: 'complete',
  backend: 'backend',
} as const;

const BACKEND_WAITING = 'Waiting for backend callback...';
const BACKEND_DONE = 'Backend processed';

/**
 * True for the statuses after which the channel sends nothing more:
 * `success`, `completed`, `error`, `cancelled`.
 *
 * @example
 * ```ts
 * isTerminalStatus('ai_generated'); // false: the backend's callback is still due
 * isTerminalStatus('completed');    // true
 * ```
 */
export function isTerminalStatus(status: StreamStatus): boolean {
  return status === 'success' || status === 'completed' || status === 'error' || status === 'cancelled';
}

/**
 * Where a server event stands against the highest `seq` applied so far:
 * - `duplicate`: `seq <= lastSeq`, already applied (a replay after a resume): drop it;
 * - `overlap`: `first_seq <= lastSeq < seq`, a merged frame straddling what we have:
 *   applying it would duplicate text, so drop it (and report it);
 * - `gap`: `(first_seq ?? seq) > lastSeq + 1`, events are missing: rejoin with `last_seq`;
 * - `apply`: the next event in order.
 *
 * @example
 * ```ts
 * classifySeq(4, { seq: 5 });               // 'apply'
 * classifySeq(4, { seq: 4 });               // 'duplicate'
 * classifySeq(4, { seq: 9, first_seq: 3 }); // 'overlap'
 * classifySeq(4, { seq: 7 });               // 'gap'
 * ```
 */
export function classifySeq(
  lastSeq: number,
  payload: { seq: number; first_seq?: number },
): 'apply' | 'duplicate' | 'gap' | 'overlap' {
  const seq = payload.seq;
  // Written so that NaN or other nonsense never classifies as 'apply'.
  if (!(seq > lastSeq)) return 'duplicate';
  const first = payload.first_seq ?? seq;
  return first === lastSeq + 1 ? 'apply' : first > lastSeq + 1 ? 'gap' : 'overlap';
}

/**
 * The state before any request: disconnected, `idle`, empty text, no steps.
 *
 * @example
 * ```ts
 * let state = initialStreamState();
 * state = reduceStream(state, { type: 'start', channelId: 'c1', at: Date.now() });
 * ```
 */
export function initialStreamState(): StreamState {
  return {
    connectionState: 'disconnected',
    isConnected: false,
    isConnecting: false,
    hasPendingRequest: false,
    channelId: null,
    status: 'idle',
    isCompleted: false,
    lastStatus: null,
    text: '',
    toolCalls: [],
    response: null,
    data: null,
    error: null,
    errorCode: null,
    steps: [],
    lastSeq: 0,
    metrics: {
      startedAt: null,
      firstTokenAt: null,
      endedAt: null,
      ttftMs: null,
      durationMs: null,
      tokenCount: 0,
      usage: null,
    },
  };
}

const INITIAL = initialStreamState();

function sameMetrics(a: StreamMetrics, b: StreamMetrics): boolean {
  for (const key in a) if (a[key as keyof StreamMetrics] !== b[key as keyof StreamMetrics]) return false;
  return true;
}

/**
 * An immutable snapshot of a working copy (its `pending` deltas joined in first).
 * `previous` (the last snapshot taken) lends its `metrics` object when no metric
 * changed, so that object, like `steps` and `toolCalls`, only changes identity
 * when its content does.
 *
 * @example
 * ```ts
 * const snapshot = snapshotOf(working, lastSnapshot);
 * ```
 */
export function snapshotOf(state: StreamState, previous?: StreamState, pending?: string[]): StreamState {
  if (pending !== undefined) flushText(state, pending);
  syncDocument(state);
  const m = state.metrics;
  return { ...state, metrics: previous !== undefined && sameMetrics(m, previous.metrics) ? previous.metrics : { ...m } };
}

// ---------------------------------------------------------------------------
// Steps: copy on write; a step that changes is a new object.

function patchStep(step: WorkflowStep, status: WorkflowStepStatus, extra?: Partial<WorkflowStep>): WorkflowStep {
  const next = { ...step, status, ...extra };
  return next.status !== step.status ||
    next.name !== step.name ||
    next.duration !== step.duration ||
    next.errorMessage !== step.errorMessage
    ? next
    : step;
}

function mapSteps(d: StreamState, fn: (step: WorkflowStep) => WorkflowStep): boolean {
  let out: WorkflowStep[] | null = null;
  d.steps.forEach((step, i) => {
    const next = fn(step);
    if (next !== step) (out ??= d.steps.slice())[i] = next;
  });
  if (out !== null) d.steps = out;
  return out !== null;
}

/** On any failure, every step still pending fails with the message; steps already done stay done. */
function failSteps(d: StreamState, message: string): void {
  mapSteps(d, (s) => (s.status === 'pending' ? patchStep(s, 'error', { errorMessage: message }) : s));
}

function respondSteps(d: StreamState, p: ResponsePayload): void {
  const ai = p.status === 'ai_generated';
  const duration = p.meta?.duration_ms;
  mapSteps(d, (s) => {
    switch (s.id) {
      case 'queue':
        return s.status === 'pending' ? patchStep(s, 'success') : s;
      case 'process':
        return s.status === 'success' ? s : patchStep(s, 'success', Number.isFinite(duration) ? { duration: duration as number } : undefined);
      case 'receive':
      case 'complete':
        // ai_generated: the model is done; the app's backend now processes the result and calls back.
        return ai ? s : patchStep(s, 'success');
      case 'backend':
        return patchStep(s, ai ? 'pending' : 'success', {
          name: ai ? BACKEND_WAITING : p.status === 'completed' ? BACKEND_DONE : 'No backend processing needed',
        });
      default:
        return s;
    }
  });
  // Event-driven workflows get a `backend` step (only a started request has steps).
  if ((ai || p.status === 'completed') && d.steps.length > 0 && !d.steps.some((s) => s.id === 'backend')) {
    d.steps = [...d.steps, { id: 'backend', name: ai ? BACKEND_WAITING : BACKEND_DONE, status: ai ? 'pending' : 'success' }];
  }
}

// ---------------------------------------------------------------------------
// Tool calls

/**
 * Each tool call's arguments parser, keyed by the call object and handed on to the object
 * that replaces it. A parser that has read more or less than the call's `argumentsText`
 * (an older state reduced again, a call restored from storage) is rebuilt from the text.
 */
const argumentParsers = new WeakMap<ToolCallState, PartialJson>();

function argumentsParser(call: ToolCallState | undefined): PartialJson {
  let json = call === undefined ? undefined : argumentParsers.get(call);
  if (json === undefined || json.length !== (call as ToolCallState).argumentsText.length) {
    json = createPartialJson();
    if (call !== undefined) {
      json.feed(call.argumentsText);
      argumentParsers.set(call, json);
    }
  }
  return json;
}

/**
 * Structured output streamed as tokens: the partial-JSON parser of a working copy's text
 * from offset `at` (a retry after invalid output starts a new document), or null once a
 * response settled `data`. Only a text starting with `{` or `[` is taken for JSON.
 */
interface TextDocument {
  json: PartialJson;
  at: number;
}
const documents = new WeakMap<StreamState, TextDocument | null>();

function newDocument(d: StreamState, at: number): TextDocument {
  const doc = { json: createPartialJson(true), at };
  documents.set(d, doc);
  doc.json.feed(d.text.slice(at));
  return doc;
}

/** Feeds a token's delta (before it joins the text). */
function feedDocument(d: StreamState, delta: string, pending?: string[]): void {
  let doc = documents.get(d);
  if (doc === null) return;
  // Without `pending` (the pure path) a copy may share a document another branch fed further.
  if (doc === undefined || (pending === undefined && doc.at + doc.json.length !== d.text.length)) doc = newDocument(d, doc?.at ?? 0);
  doc.json.feed(delta);
}

/** `data` takes the document's value, when it has read exactly the text (built only when a snapshot is). */
function syncDocument(d: StreamState): void {
  const doc = documents.get(d);
  if (doc == null || doc.at + doc.json.length !== d.text.length) return;
  const value = doc.json.value();
  if (value !== undefined) d.data = value;
}

/** Marks complete every parsed call except `exceptIndex`: a later event has moved past them. */
function completeCalls(d: StreamState, exceptIndex = -1): void {
  let out: ToolCallState[] | null = null;
  d.toolCalls.forEach((call, i) => {
    if (!call.complete && call.index !== exceptIndex && argumentsParser(call).done) {
      (out ??= d.toolCalls.slice())[i] = { ...call, complete: true };
    }
  });
  if (out !== null) d.toolCalls = out;
}

function applyToolCall(d: StreamState, p: ToolCallPayload): void {
  const calls = d.toolCalls.slice();
  const pos = calls.findIndex((c) => c.index === p.index);
  const prev = calls[pos];
  const argumentsText = (prev?.argumentsText ?? '') + p.arguments;
  // Partial arguments while they stream: the parser reads only the new delta.
  const json = argumentsParser(prev);
  json.feed(p.arguments);
  const parsed = json.value();
  const call: ToolCallState = {
    index: p.index,
    // id and name come with a call's first delta; a later one fills them only if missing.
    id: prev?.id ?? p.id ?? null,
    name: prev?.name ?? p.name ?? null,
    argumentsText,
    arguments: parsed,
    complete: prev !== undefined && prev.complete && json.done,
  };
  argumentParsers.set(call, json);
  if (prev !== undefined) calls[pos] = call;
  else {
    // Kept ordered by index, whatever order the calls start in.
    let at = calls.length;
    while (at > 0 && (calls[at - 1] as ToolCallState).index > p.index) at--;
    calls.splice(at, 0, call);
  }
  d.toolCalls = calls;
  completeCalls(d, p.index);
}

// ---------------------------------------------------------------------------
// Server events

function readUsage(meta: ResponsePayload['meta'] | undefined): Usage | null {
  const u = meta?.usage as Record<string, unknown> | undefined;
  return isRecord(u) && ['prompt_tokens', 'completion_tokens', 'total_tokens'].every((k) => typeof u[k] === 'number')
    ? (u as unknown as Usage)
    : null;
}

function end(d: StreamState, at: number): void {
  const m = d.metrics;
  m.endedAt = at;
  m.durationMs = m.startedAt === null ? null : at - m.startedAt;
}

function applyResponse(d: StreamState, p: ResponsePayload, at: () => number): void {
  const status = p.status;
  if (status === 'error') {
    d.error = p.error?.message ?? 'Request failed';
    d.errorCode = p.error?.code ?? 'request_failed';
    failSteps(d, d.error);
  } else if (status === 'cancelled') {
    // The user's Stop, not a failure: `status` says it, and `error` stays empty so an app that
    // shows `error` does not report a Stop as one. Steps still pending did not complete.
    failSteps(d, 'Request cancelled');
  } else respondSteps(d, p);
  d.status = status;
  d.isCompleted = status === 'success' || status === 'completed';
  // `content` is the authoritative whole; without it the streamed text stands.
  if (p.content !== undefined) d.text = p.content;
  completeCalls(d);
  d.response = p;
  const aiData = p.ai_response?.data;
  if (p.data !== undefined) d.data = p.data;
  else if (aiData !== undefined) d.data = aiData;
  // No data came: what the text looked like was not structured output after all.
  else if (documents.get(d)) d.data = null;
  documents.set(d, null);
  if (isTerminalStatus(status)) end(d, at());
  d.metrics.usage = readUsage(p.meta) ?? d.metrics.usage;
}

/**
 * Deltas a working copy holds before joining them into its `text`. Appending
 * each delta would keep a string node per token alive (about 50 bytes, copied
 * by every young-generation GC); joined 64 at a time they cost about their
 * characters.
 */
const TEXT_CHUNK = 64;

/**
 * Appends the deltas held in `pending` to the working copy's `text` (and empties
 * `pending`); call it before reading `text` from a working copy.
 *
 * @example
 * ```ts
 * flushText(working, pending);
 * save(working.text);
 * ```
 */
export function flushText(d: StreamState, pending: string[]): void {
  if (pending.length === 0) return;
  d.text += pending.join('');
  pending.length = 0;
}

/**
 * Applies a validated server event to a working copy, in place (the client's
 * per-token path: no allocation for `tokens`). Returns whether the state
 * changed; an event that {@link classifySeq} would not apply, or one after a
 * terminal status, changes nothing. `at` is read only when a time is needed
 * (the first token, the final response). With `pending`, token deltas are
 * collected there (see {@link flushText}) instead of appended one by one.
 *
 * @example
 * ```ts
 * if (applyEvent(working, 'tokens', { seq: 1, delta: 'Hi' }, Date.now)) version++;
 * ```
 */
export function applyEvent(
  d: StreamState,
  event: string,
  payload: { seq: number; first_seq?: number },
  at: () => number,
  pending?: string[],
): boolean {
  // Nothing follows a terminal response; and the caller's seq check is repeated here
  // (it is two comparisons) so a mistaken dispatch can never duplicate text.
  if (isTerminalStatus(d.status) || classifySeq(d.lastSeq, payload) !== 'apply') return false;
  if (pending !== undefined && event !== 'tokens') flushText(d, pending);
  if (event === 'response') applyResponse(d, payload as ResponsePayload, at);
  else if (event === 'status') {
    d.lastStatus = payload as StatusPayload;
    // The gateway retries after invalid structured output: the next attempt's JSON starts here.
    if ((payload as StatusPayload).reason === 'invalid_structured_output' && documents.get(d)) {
      newDocument(d, d.text.length);
      d.data = null;
    }
    completeCalls(d);
  } else if (event === 'tool_call' || event === 'tokens') {
    if (d.status === 'pending' || d.status === 'idle') d.status = 'streaming';
    if (event === 'tool_call') applyToolCall(d, payload as ToolCallPayload);
    else {
      const m = d.metrics;
      // A reload that restored text cannot know when its first token came: TTFT stays unknown.
      if (m.firstTokenAt === null && d.text === '') {
        m.firstTokenAt = at();
        m.ttftMs = m.startedAt === null ? null : m.firstTokenAt - m.startedAt;
      }
      const delta = (payload as TokensPayload).delta;
      feedDocument(d, delta, pending);
      if (pending === undefined) d.text += delta;
      else if (pending.push(delta) >= TEXT_CHUNK) flushText(d, pending);
      if (d.toolCalls.length !== 0) completeCalls(d);
      m.tokenCount += payload.seq - (payload.first_seq ?? payload.seq) + 1;
    }
  } else return false;
  d.lastSeq = payload.seq;
  return true;
}

/**
 * Applies an action to a working copy, in place; returns whether it changed
 * anything. See {@link reduceStream} for the transitions.
 *
 * @example
 * ```ts
 * if (applyAction(working, { type: 'connection', state: 'connected' })) version++;
 * ```
 */
export function applyAction(d: StreamState, action: StreamAction): boolean {
  const terminal = isTerminalStatus(d.status);
  switch (action.type) {
    case 'event':
      return applyEvent(d, action.event.event, action.event.payload, () => action.at);
    case 'skip':
      if (terminal || action.seq !== d.lastSeq + 1) return false;
      d.lastSeq = action.seq;
      return true;
    case 'start': {
      const r = action.restored;
      const text = typeof r?.text === 'string' ? r.text : '';
      const toolCalls = r?.toolCalls?.slice() ?? [];
      const init = initialStreamState();
      init.metrics.startedAt = action.at;
      // The link is not this action's business: it keeps its own state.
      Object.assign(d, init, {
        connectionState: d.connectionState,
        isConnected: d.isConnected,
        isConnecting: d.isConnecting,
        hasPendingRequest: d.hasPendingRequest,
        channelId: action.channelId,
        status: text !== '' || toolCalls.length > 0 ? 'streaming' : 'pending',
        text,
        toolCalls,
        steps: ['Queueing request', 'Processing AI request', 'Waiting for response', 'Response received'].map(
          (name, i): WorkflowStep => ({ id: ['queue', 'process', 'receive', 'complete'][i] as string, name, status: 'pending' }),
        ),
        lastSeq: r !== undefined && Number.isSafeInteger(r.lastSeq) && r.lastSeq > 0 ? r.lastSeq : 0,
      });
      // A reload shows the structured output of the text it restored at once.
      newDocument(d, 0);
      return true;
    }
    case 'connection': {
      const next = action.state;
      const isConnecting = next === 'connecting' || next === 'reconnecting';
      if (d.connectionState === next && d.isConnected === (next === 'connected') && d.isConnecting === isConnecting) return false;
      d.connectionState = next;
      d.isConnected = next === 'connected';
      d.isConnecting = isConnecting;
      return true;
    }
    case 'joined': {
      const startedAt = d.metrics.startedAt;
      // Only the first join counts: a rejoin after a drop does not re-time the queue.
      return (
        !terminal &&
        mapSteps(d, (s) =>
          s.id === 'queue' && s.status === 'pending'
            ? patchStep(s, 'success', startedAt === null ? undefined : { duration: Math.max(0, action.at - startedAt) })
            : s,
        )
      );
    }
    case 'failed':
      if (terminal) return false;
      d.status = 'error';
      d.error = action.message;
      d.errorCode = action.code;
      failSteps(d, action.message);
      end(d, action.at);
      return true;
    case 'pending':
      if (d.hasPendingRequest === action.hasPendingRequest) return false;
      d.hasPendingRequest = action.hasPendingRequest;
      return true;
    case 'reset': {
      const k = Object.keys(INITIAL) as Array<keyof StreamState>;
      if (k.every((key) => (key === 'metrics' ? sameMetrics(d.metrics, INITIAL.metrics) : key === 'steps' || key === 'toolCalls' ? d[key].length === 0 : d[key] === INITIAL[key]))) {
        return false;
      }
      Object.assign(d, initialStreamState());
      documents.delete(d);
      return true;
    }
    default:
      return false;
  }
}

/**
 * The stream's transition function. Pure: it never mutates `state`, and it
 * returns the same object when the action changes nothing.
 *
 * Status: `start` → `pending` (or `streaming` when restoring text);
 * first `tokens`/`tool_call` → `streaming`; `response` → its status;
 * `failed` → `error`. A terminal status stays until `start` or `reset`:
 * events and failures after it are ignored. A `cancelled` response (the
 * user's Stop) is not an error: `error` and `errorCode` stay null;
 * `errorCode` is non-null exactly when `error` is. `isCompleted` is true
 * after `success` or `completed`.
 * `skip` moves `lastSeq` past an invalid event (`lastSeq + 1` only) and
 * applies nothing.
 *
 * Steps: `joined` → queue success (timed from `start`); `ai_generated` →
 * process success and a pending `backend` step; `success`/`completed` →
 * process, receive, complete (and backend) success; any failure → every step
 * still pending becomes `error` with the message.
 *
 * @example
 * ```ts
 * let s = reduceStream(initialStreamState(), { type: 'start', channelId: 'c1', at: 0 });
 * s = reduceStream(s, { type: 'event', at: 5, event: { event: 'tokens', payload: { seq: 1, delta: 'Hi' } } });
 * s.text;   // 'Hi'
 * s.status; // 'streaming'
 * ```
 */
export function reduceStream(state: StreamState, action: StreamAction): StreamState {
  const next = { ...state, metrics: { ...state.metrics } };
  const doc = documents.get(state);
  if (doc !== undefined) documents.set(next, doc);
  if (!applyAction(next, action)) return state;
  syncDocument(next);
  if (sameMetrics(next.metrics, state.metrics)) next.metrics = state.metrics;
  return next;
}
