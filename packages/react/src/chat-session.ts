/**
 * A conversation on one client, without React: the messages, the queue of sends waiting
 * for the current answer, and the history persisted beside the client's own record so a
 * reload shows every message (the streaming one through the client's restored text).
 */
import { isTerminalStatus, ModelRiverError } from '@modelriver/client';
import type {
  ConnectOptions,
  KeyValueStorage,
  ModelRiverClient,
  StreamMetrics,
  StreamState,
  StreamStatus,
  ToolCallState,
} from '@modelriver/client';

/** One message of a conversation. */
export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  /** The user's text, or the answer so far. */
  content: string;
  /** Assistant messages: where the answer stands (`pending` until the first token). */
  status?: StreamStatus;
  toolCalls?: ToolCallState[];
  /** Structured output: partial while it streams. */
  data?: unknown;
  metrics?: StreamMetrics;
  /** Why the answer failed, if it did. */
  error?: string | null;
  /** The request the answer streams from. */
  channelId?: string | null;
}

/** What a send does while an answer is still streaming. */
export type SendPolicy = 'queue' | 'interrupt' | 'reject';

/** `idle`; `starting` while `start()` runs; `streaming` while an answer streams; `error` after a failure. */
export type ChatStatus = 'idle' | 'starting' | 'streaming' | 'error';

/** The chat's own snapshot (the streaming message's text comes from the client's state). */
export interface ChatSnapshot {
  messages: ChatMessage[];
  status: ChatStatus;
  error: ModelRiverError | null;
  /** The assistant message streaming now. */
  activeId: string | null;
}

/** `start(messages)`: the app's call to its own backend, answering the async ack. */
export type StartChat = (messages: ChatMessage[]) => Promise<ConnectOptions>;

export const EMPTY_CHAT: ChatSnapshot = { messages: [], status: 'idle', error: null, activeId: null };

const HISTORY_KEY = 'chat_messages';
const INTERRUPTED = 'The answer could not be resumed after the page was reloaded';

let counter = 0;
const newId = (): string => `m${Date.now().toString(36)}${(counter++).toString(36)}`;

function channelOf(ack: ConnectOptions): string | null {
  const a = ack as { channelId?: unknown; channel_id?: unknown };
  const id = a.channelId ?? a.channel_id;
  return typeof id === 'string' ? id : null;
}

function isMessage(m: unknown): m is ChatMessage {
  const r = m as ChatMessage | null;
  return typeof r === 'object' && r !== null && typeof r.id === 'string' && (r.role === 'user' || r.role === 'assistant') && typeof r.content === 'string';
}

/**
 * The streaming answer as a message: its text, tool calls, data, status and metrics from the
 * client's state.
 *
 * @example
 * ```ts
 * const live = answerFrom(message, client.getState());
 * ```
 */
export function answerFrom(message: ChatMessage, state: StreamState): ChatMessage {
  return {
    ...message,
    content: state.text,
    status: state.status,
    toolCalls: state.toolCalls,
    data: state.data,
    metrics: state.metrics,
    error: state.error,
  };
}

/** @internal See the module comment. */
export class ChatSession {
  snapshot: ChatSnapshot;
  policy: SendPolicy = 'queue';
  start: StartChat | null = null;
  private readonly listeners = new Set<() => void>();
  private queue: string[] = [];
  /** Bumped by stop/interrupt: a `start()` answering after it is not connected. */
  private generation = 0;

  constructor(
    private readonly client: ModelRiverClient,
    private readonly storage: KeyValueStorage | null,
    private readonly key: string,
  ) {
    this.snapshot = this.restore();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ChatSnapshot => this.snapshot;

  /** Follows the client while mounted: an answer ends with its request. */
  attach(): () => void {
    const onEnd = (): void => {
      const state = this.client.getState();
      const active = this.active();
      if (active !== null && isTerminalStatus(state.status) && state.channelId === active.channelId) this.finish(answerFrom(active, state));
    };
    const offs = [this.client.on('response', onEnd), this.client.on('error', onEnd)];
    onEnd();
    return () => offs.forEach((off) => off());
  }

  async send(text: string): Promise<void> {
    if (typeof text !== 'string' || text.trim() === '') throw new ModelRiverError('invalid_options', 'send() needs a non-empty text');
    const busy = this.snapshot.status === 'starting' || this.snapshot.activeId !== null;
    if (busy && this.policy === 'reject') {
      throw new ModelRiverError('busy', 'an answer is still streaming: wait for it, stop() it, or use the queue or interrupt policy');
    }
    const user: ChatMessage = { id: newId(), role: 'user', content: text };
    this.update({ messages: [...this.snapshot.messages, user] });
    if (busy && this.policy === 'queue') {
      this.queue.push(user.id);
      return;
    }
    if (busy) this.interrupt();
    await this.run(user.id);
  }

  /** Cancels the answer on the gateway (it ends `cancelled`) and drops the queued sends. */
  async stop(): Promise<void> {
    this.queue = [];
    this.generation++;
    const active = this.active();
    if (active === null) {
      if (this.snapshot.status === 'starting') this.update({ status: 'idle' });
      return;
    }
    try {
      await this.client.cancel();
    } catch {
      // Not deliverable (link down past the push timeout…): end it here at least.
      this.client.disconnect();
      if (this.snapshot.activeId === active.id) this.finish({ ...answerFrom(active, this.client.getState()), status: 'cancelled' });
    }
  }

  /** Asks again for the last user message (after an error or a stop). */
  async retry(): Promise<void> {
    if (this.snapshot.status === 'starting' || this.snapshot.activeId !== null) return;
    const messages = this.snapshot.messages;
    let last = messages.length - 1;
    while (last >= 0 && messages[last]?.role !== 'user') last--;
    if (last < 0) return;
    this.update({ messages: messages.slice(0, last + 1), error: null });
    await this.run((messages[last] as ChatMessage).id);
  }

  private active(): ChatMessage | null {
    const id = this.snapshot.activeId;
    return id === null ? null : (this.snapshot.messages.find((m) => m.id === id) ?? null);
  }

  /** Ends the streaming answer where it is and cancels it on the gateway. */
  private interrupt(): void {
    this.generation++;
    const active = this.active();
    if (active === null) return;
    this.client.cancel().catch(() => undefined);
    this.finish({ ...answerFrom(active, this.client.getState()), status: 'cancelled' }, false);
  }

  private async run(userId: string): Promise<void> {
    const start = this.start;
    if (start === null) throw new ModelRiverError('invalid_options', 'useModelRiverChat needs a start(messages) function');
    const generation = ++this.generation;
    const at = this.snapshot.messages.findIndex((m) => m.id === userId);
    this.update({ status: 'starting', error: null });
    let ack: ConnectOptions;
    try {
      ack = await start(this.snapshot.messages.slice(0, at + 1));
    } catch (cause) {
      if (generation === this.generation) {
        const error = cause instanceof ModelRiverError ? cause : new ModelRiverError('start_failed', `start() failed: ${String((cause as Error)?.message ?? cause)}`, { cause });
        this.update({ status: 'error', error });
      }
      return;
    }
    if (generation !== this.generation) return;
    const answer: ChatMessage = { id: newId(), role: 'assistant', content: '', status: 'pending', channelId: channelOf(ack) };
    const messages = this.snapshot.messages.slice();
    messages.splice(messages.findIndex((m) => m.id === userId) + 1, 0, answer);
    this.update({ messages, status: 'streaming', activeId: answer.id });
    this.client.connect(ack);
  }

  private finish(answer: ChatMessage, next = true): void {
    const failed = answer.status === 'error';
    this.update({
      messages: this.snapshot.messages.map((m) => (m.id === answer.id ? answer : m)),
      activeId: null,
      status: failed ? 'error' : 'idle',
      error: failed ? new ModelRiverError(this.client.getState().errorCode ?? 'request_failed', answer.error ?? 'Request failed') : null,
    });
    const queued = next ? this.queue.shift() : undefined;
    if (queued !== undefined) void this.run(queued).catch(() => undefined);
  }

  private update(patch: Partial<ChatSnapshot>): void {
    const previous = this.snapshot;
    this.snapshot = { ...previous, ...patch };
    if (patch.messages !== undefined || patch.activeId !== undefined) this.save();
    for (const listener of this.listeners) listener();
  }

  private save(): void {
    try {
      if (this.snapshot.messages.length === 0) this.storage?.removeItem(this.key + HISTORY_KEY);
      else this.storage?.setItem(this.key + HISTORY_KEY, JSON.stringify({ messages: this.snapshot.messages, activeId: this.snapshot.activeId }));
    } catch {
      // A full or refused storage costs the reload its history, not the conversation.
    }
  }

  private restore(): ChatSnapshot {
    type Saved = { messages?: unknown; activeId?: unknown } | null;
    let saved: Saved = null;
    try {
      const raw = this.storage?.getItem(this.key + HISTORY_KEY);
      saved = raw == null ? null : (JSON.parse(raw) as Saved);
    } catch {
      saved = null;
    }
    const messages = Array.isArray(saved?.messages) ? saved.messages.filter(isMessage) : [];
    if (messages.length === 0) return EMPTY_CHAT;
    const activeId = typeof saved?.activeId === 'string' ? saved.activeId : null;
    const active = messages.find((m) => m.id === activeId);
    const state = this.client.getState();
    // The answer that was streaming resumes with the client's persisted request; one that cannot is marked.
    if (active !== undefined && state.channelId === active.channelId && this.client.hasPendingRequest()) {
      return { messages, status: 'streaming', error: null, activeId: active.id };
    }
    return {
      messages: messages.map((m) => (m.id === activeId ? { ...m, status: 'error' as const, error: INTERRUPTED } : m)),
      status: 'idle',
      error: null,
      activeId: null,
    };
  }
}
