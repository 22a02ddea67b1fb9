/**
 * One fake AI request: its topic, its event log (the source of truth for
 * replays) and the sockets joined to it. Tests drive it by emitting events.
 */
import type {
  JoinErrorReason,
  ResponsePayload,
  ResponseStatus,
  ServerEvent,
  ServerEventMap,
  ServerEventName,
  StatusPayload,
  StatusValue,
  ToolCallPayload,
} from './wire-types.js';
import { FakeGatewayError } from './errors.js';
import type { FakeConnection } from './fake-connection.js';
import { replyFrame } from './frames.js';
import { planDelivery } from './replay.js';
import type { TokenRegistry } from './token-registry.js';
import { topicFor } from './topic.js';

/** Timer functions the fake uses for `streamText` pacing. */
export interface FakeTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** What a channel needs from its gateway. */
export interface ChannelContext {
  projectId: string;
  tokens: TokenRegistry;
  tokenTtlMs: number;
  resumeTokenTtlMs: number;
  mergeReplayTokens: boolean;
  timers: FakeTimers;
}

/** Options of {@link FakeChannel.streamText}. */
export interface StreamTextOptions {
  /** Code points per `tokens` event. Default 4. */
  chunkSize?: number;
  /** Delay between events; 0 (default) emits everything synchronously. */
  intervalMs?: number;
  /** Finish with `respond({status: 'success'})`. Default true. */
  respond?: boolean;
}

/** A successful join, as {@link FakeChannel.onJoin} sees it. */
export interface JoinInfo {
  /** The join's `join_ref`: every server event to this socket carries it. */
  joinRef: string | null;
  /** The `last_seq` the client sent (0 when absent or invalid). */
  lastSeq: number;
}

interface Subscription {
  joinRef: string | null;
  /** Highest seq sent to this socket, so a flush after `pause()` never repeats one. */
  sentSeq: number;
}

const TERMINAL: ReadonlySet<ResponseStatus> = new Set<ResponseStatus>(['success', 'error', 'cancelled', 'completed']);

/**
 * A channel of the fake gateway. Create it with `gateway.createChannel()`.
 *
 * @example
 * const ch = gw.createChannel();
 * ch.status('processing');
 * await ch.streamText('Hello, world');   // tokens… then a success response
 * ch.lastSeq; // 5
 */
export class FakeChannel {
  readonly topic: string;
  /** The first `ws_token`, as the async request's ack would carry it. */
  readonly wsToken: string;
  /** Called when a client pushes `cancel` (after the ok reply). `null`: respond `cancelled`. */
  onCancel: (() => void) | null = null;
  /** Called after each successful join, once its reply and replay have been sent. */
  onJoin: ((connection: FakeConnection, join: JoinInfo) => void) | null = null;
  /** Join refusal to simulate: `null` (default) accepts joins. */
  refuseJoinsWith: JoinErrorReason | null = null;
  /** Every `resume_token` handed out by a join of this channel, oldest first. */
  readonly resumeTokens: string[] = [];

  private readonly events: ServerEvent[] = [];
  private readonly members = new Map<FakeConnection, Subscription>();
  private readonly latestResumeToken = new WeakMap<FakeConnection, string>();
  private readonly pendingTimers = new Set<{ handle: unknown; wake: () => void }>();
  private readonly joinWaiters = new Set<(connection: FakeConnection) => void>();
  private readonly closeWaiters = new Set<(error: Error) => void>();
  private paused = false;
  private disposed = false;
  private textSoFar = '';
  private endedWith: ResponseStatus | null = null;

  /** @internal Use `FakeGateway.createChannel()`. */
  constructor(
    readonly channelId: string,
    private readonly ctx: ChannelContext,
  ) {
    this.topic = topicFor(ctx.projectId, channelId);
    this.wsToken = this.issueToken();
  }

  /** Every event emitted so far, in seq order (`log[i].payload.seq === i + 1`). */
  get log(): readonly ServerEvent[] {
    return this.events;
  }

  /** The seq of the latest event; 0 before the first. */
  get lastSeq(): number {
    return this.events.length;
  }

  /** The concatenation of every `tokens` delta emitted so far. */
  get text(): string {
    return this.textSoFar;
  }

  /** The status of the terminal `response` emitted, or `null` while the request runs. */
  get ended(): ResponseStatus | null {
    return this.endedWith;
  }

  /** Connections currently joined to this channel. */
  get joined(): FakeConnection[] {
    return [...this.members.keys()];
  }

  /**
   * Issues a fresh single-use `ws_token` for this topic (what `/v1/ai/reconnect` returns).
   *
   * @example
   * const token = ch.issueToken();
   * new WebSocket(`${gw.url}/websocket?token=${token}&vsn=2.0.0`);
   */
  issueToken(): string {
    return this.ctx.tokens.issue(this.topic, 'ws_token', this.ctx.tokenTtlMs);
  }

  /**
   * Makes every unspent token of this channel unusable (both kinds unless one is named),
   * e.g. to force a client off its resume token onto its fallback.
   *
   * @example
   * ch.revokeTokens('resume_token');
   */
  revokeTokens(kind?: 'ws_token' | 'resume_token'): number {
    return this.ctx.tokens.revoke(this.topic, kind);
  }

  /**
   * Appends an event with the next seq and delivers it to joined sockets now
   * (unless paused). Returns the seq.
   *
   * @example
   * ch.emit('tokens', { delta: 'Hi' }); // 1
   */
  emit<K extends ServerEventName>(event: K, payload: Omit<ServerEventMap[K], 'seq'>): number {
    const seq = this.events.length + 1;
    // The spread keeps the caller's fields; `seq` is always ours.
    const entry = { event, payload: { ...payload, seq } as ServerEventMap[K] } as unknown as ServerEvent;
    this.events.push(entry);
    if (entry.event === 'tokens') this.textSoFar += entry.payload.delta;
    if (entry.event === 'response' && TERMINAL.has(entry.payload.status)) this.endedWith = entry.payload.status;
    if (!this.paused) {
      for (const [connection, sub] of this.members) this.send(connection, sub, [entry]);
    }
    return seq;
  }

  /**
   * Emits a `tokens` event.
   *
   * @example
   * ch.tokens('Hel'); ch.tokens('lo');
   */
  tokens(delta: string): number {
    return this.emit('tokens', { delta });
  }

  /**
   * Emits a `status` event.
   *
   * @example
   * ch.status('failover', { provider: 'openai', reason: 'timeout' });
   */
  status(status: StatusValue, extra?: Partial<StatusPayload>): number {
    return this.emit('status', { ...extra, status });
  }

  /**
   * Emits a `tool_call` delta.
   *
   * @example
   * ch.toolCall({ index: 0, id: 'call_1', name: 'search', arguments: '{"q":' });
   * ch.toolCall({ index: 0, arguments: '"cats"}' });
   */
  toolCall(payload: Omit<ToolCallPayload, 'seq'>): number {
    return this.emit('tool_call', payload);
  }

  /**
   * Emits a `response`, filling `channel_id`, `meta: {}` and `content` (the
   * concatenated tokens) when not given. `content: undefined` sends no `content`
   * at all, so a client must keep the text it streamed: tests of resume and
   * dedup use it, or the final `content` would overwrite whatever the client
   * accumulated and hide a lost or doubled token.
   *
   * @example
   * ch.respond({ status: 'error', error: { code: 'provider_error', message: 'upstream 500' } });
   * ch.respond({ status: 'success', content: undefined }); // no `content` key on the wire
   */
  respond(payload: Partial<Omit<ResponsePayload, 'seq'>> & { status: ResponseStatus }): number {
    const response: Omit<ResponsePayload, 'seq'> = {
      ...payload,
      channel_id: payload.channel_id ?? this.channelId,
      meta: payload.meta ?? {},
    };
    // Only an absent key is filled in; an explicit `undefined` means "send none".
    if (!('content' in payload)) response.content = this.textSoFar;
    else if (payload.content === undefined) delete response.content;
    return this.emit('response', response);
  }

  /**
   * Streams `text` as `tokens` events of `chunkSize` code points (never splitting
   * a surrogate pair), then a success response. Stops early once the channel has
   * ended (e.g. cancelled). Resolves when done.
   *
   * @example
   * await ch.streamText('Hello, world', { chunkSize: 3, intervalMs: 5 });
   */
  async streamText(text: string, options: StreamTextOptions = {}): Promise<void> {
    const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? 4));
    const intervalMs = Math.max(0, options.intervalMs ?? 0);
    const codePoints = Array.from(text);
    for (let i = 0; i < codePoints.length; i += chunkSize) {
      if (this.endedWith !== null || this.disposed) return;
      if (i > 0 && intervalMs > 0) {
        await this.sleep(intervalMs);
        if (this.endedWith !== null || this.disposed) return;
      }
      this.tokens(codePoints.slice(i, i + chunkSize).join(''));
    }
    if (options.respond !== false && this.endedWith === null && !this.disposed) this.respond({ status: 'success' });
  }

  /**
   * Pauses live delivery: events still go in the log (a later join replays them).
   *
   * @example
   * ch.pause(); ch.tokens('a'); ch.tokens('b'); ch.resume({ merge: true }); // one frame, first_seq 1
   */
  pause(): void {
    this.paused = true;
  }

  /**
   * Resumes live delivery, first flushing to each joined socket what it has not
   * been sent, merging consecutive `tokens` when `merge` is true (default false).
   *
   * @example
   * ch.resume();
   */
  resume(options: { merge?: boolean } = {}): void {
    this.paused = false;
    for (const [connection, sub] of this.members) {
      this.send(connection, sub, planDelivery(this.events.slice(sub.sentSeq), options.merge ?? false));
    }
  }

  /**
   * Resolves with the connection of the NEXT successful join of this channel
   * (its reply and replay already sent); rejects with code `timeout` or `closed`.
   *
   * @example
   * const joined = ch.waitForJoin();
   * client.connect(gw.connectOptions(ch));
   * await joined;
   * ch.tokens('live');
   */
  waitForJoin(timeoutMs = 5_000): Promise<FakeConnection> {
    if (this.disposed) return Promise.reject(new FakeGatewayError('closed', 'The fake gateway is closed'));
    return new Promise((resolve, reject) => {
      const done = (): void => {
        this.ctx.timers.clearTimeout(handle);
        this.joinWaiters.delete(wake);
        this.closeWaiters.delete(fail);
      };
      const wake = (connection: FakeConnection): void => {
        done();
        resolve(connection);
      };
      const fail = (error: Error): void => {
        done();
        reject(error);
      };
      const handle = this.ctx.timers.setTimeout(
        () => fail(new FakeGatewayError('timeout', `Waited ${timeoutMs} ms for a join of ${this.topic}`)),
        timeoutMs,
      );
      this.joinWaiters.add(wake);
      this.closeWaiters.add(fail);
    });
  }

  /** @internal A socket's join passed the gateway's checks: reply, replay, subscribe. */
  attach(connection: FakeConnection, joinRef: string | null, ref: string | null, lastSeq: number): void {
    // As the gateway does: a socket's join revokes the resume token its previous join returned.
    const previous = this.latestResumeToken.get(connection);
    if (previous !== undefined) this.ctx.tokens.revokeOne(previous);
    const resumeToken = this.ctx.tokens.issue(this.topic, 'resume_token', this.ctx.resumeTokenTtlMs);
    this.latestResumeToken.set(connection, resumeToken);
    this.resumeTokens.push(resumeToken);
    connection.send(replyFrame(joinRef, ref, this.topic, 'ok', { last_seq: this.lastSeq, resume_token: resumeToken }));
    const sub: Subscription = { joinRef, sentSeq: 0 };
    const from = Math.min(Math.max(0, lastSeq), this.events.length);
    this.send(connection, sub, planDelivery(this.events.slice(from), this.ctx.mergeReplayTokens));
    // Events up to now are the replay's business, whether or not it sent them.
    sub.sentSeq = this.lastSeq;
    this.members.set(connection, sub);
    for (const wake of [...this.joinWaiters]) wake(connection);
    this.onJoin?.(connection, { joinRef, lastSeq });
  }

  /** @internal The socket left the topic or closed. */
  detach(connection: FakeConnection): void {
    this.members.delete(connection);
  }

  /** @internal A joined socket pushed `cancel` (already answered ok). */
  cancelRequested(): void {
    if (this.onCancel) {
      this.onCancel();
    } else if (this.endedWith === null) {
      this.respond({ status: 'cancelled' });
    }
  }

  /** @internal The gateway is closing: stop pacing timers so `streamText` settles. */
  dispose(): void {
    this.disposed = true;
    for (const timer of this.pendingTimers) {
      this.ctx.timers.clearTimeout(timer.handle);
      timer.wake();
    }
    this.pendingTimers.clear();
    this.members.clear();
    const closed = new FakeGatewayError('closed', 'The fake gateway was closed');
    for (const fail of [...this.closeWaiters]) fail(closed);
  }

  private send(connection: FakeConnection, sub: Subscription, events: readonly ServerEvent[]): void {
    for (const e of events) {
      connection.send([sub.joinRef, null, this.topic, e.event, e.payload]);
      if (e.payload.seq > sub.sentSeq) sub.sentSeq = e.payload.seq;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = {
        handle: undefined as unknown,
        wake: () => {
          this.pendingTimers.delete(timer);
          resolve();
        },
      };
      timer.handle = this.ctx.timers.setTimeout(timer.wake, ms);
      this.pendingTimers.add(timer);
    });
  }
}
