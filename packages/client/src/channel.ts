/**
 * The channel for one request's topic: join (with `last_seq`), join replies,
 * join timeouts and rejoins, pushes, and dispatch of the topic's events. The
 * channel outlives links: the client attaches each new link to it, and it joins
 * again with whatever `last_seq` the client holds at that moment.
 */
import { backoffDelay } from './backoff.js';
import { ModelRiverError, reportListenerError } from './errors.js';
import { PhoenixEvent } from './protocol.js';
import type { Frame, JoinPayload } from './protocol.js';
import { PushBuffer } from './push.js';
import type { Push } from './push.js';
import type { BackoffOptions, DropInfo, ProtocolErrorInfo, PushBufferOptions, Timers } from './types.js';

/** Default time a join may wait for its reply: 10 s. */
export const DEFAULT_JOIN_TIMEOUT_MS = 10_000;

/** Join refusals that will not change by retrying (today's hosted reasons included). */
export const PERMANENT_JOIN_REFUSALS: Readonly<Record<string, 'unauthorized' | 'not_found' | 'invalid_channel_format'>> = Object.freeze({
  unauthorized: 'unauthorized',
  unauthorized_project_access: 'unauthorized',
  not_found: 'not_found',
  invalid_channel_format: 'invalid_channel_format',
  invalid_project_uuid: 'invalid_channel_format',
  invalid_channel_uuid: 'invalid_channel_format',
});

/** Where the channel stands on the current link. */
export type ChannelState = 'closed' | 'joining' | 'joined' | 'errored';

/** What the channel needs from a link. {@link Socket} fits. */
export interface ChannelTransport {
  readonly isOpen: boolean;
  makeRef(): string;
  send(frame: Frame): boolean;
}

/** What a successful join told us. Fields the server left out are null (the hosted service may omit them). */
export interface JoinResult {
  serverLastSeq: number | null;
  resumeToken: string | null;
}

/** Callbacks of a {@link Channel}. Exceptions thrown by them are caught and reported. */
export interface ChannelHandlers {
  /** The payload of the next join, read at the moment it is sent. */
  joinPayload: () => JoinPayload;
  onJoined: (result: JoinResult) => void;
  /** A refusal that retrying will not fix; the channel stops. `code` is the normalised reason. */
  onJoinRefused: (code: 'unauthorized' | 'not_found' | 'invalid_channel_format', reason: string) => void;
  /** The rejoin policy gave up. */
  onJoinFailed: (attempts: number, lastReason: string) => void;
  /** A retryable channel problem (join timeout, `phx_error`, unknown refusal); a rejoin is scheduled. */
  onChannelError: (reason: string) => void;
  /** A server event for this topic and join. */
  onEvent: (event: string, payload: unknown, frame: Frame) => void;
  onProtocolError: (info: ProtocolErrorInfo) => void;
  onDrop: (info: DropInfo) => void;
}

/** Options of {@link Channel}. */
export interface ChannelOptions {
  topic: string;
  timers: Timers;
  random: () => number;
  joinTimeoutMs: number;
  rejoin: BackoffOptions;
  pushBuffer: PushBufferOptions;
  handlers: ChannelHandlers;
}

/**
 * A Phoenix channel bound to one topic across any number of links.
 *
 * @example
 * ```ts
 * const channel = new Channel({ topic, timers, random: Math.random, joinTimeoutMs: 10_000, rejoin: DEFAULT_REJOIN,
 *   pushBuffer: DEFAULT_PUSH_BUFFER, handlers });
 * socket = new Socket({ ..., handlers: { onOpen: () => channel.attach(socket), onFrame: (f) => channel.handleFrame(f) } });
 * channel.push('cancel', {}).receive('ok', () => console.log('cancelling'));
 * ```
 */
export class Channel {
  readonly topic: string;
  private readonly options: ChannelOptions;
  private readonly pushes: PushBuffer;
  private channelState: ChannelState = 'closed';
  private transport: ChannelTransport | null = null;
  private currentJoinRef: string | null = null;
  private joinTimer: unknown = null;
  private rejoinTimer: unknown = null;
  private rejoinAttempts = 0;
  private disposed = false;

  constructor(options: ChannelOptions) {
    this.topic = options.topic;
    this.options = options;
    this.pushes = new PushBuffer({
      ...options.pushBuffer,
      timers: options.timers,
      onDrop: (info) => this.call(() => options.handlers.onDrop(info)),
    });
  }

  get state(): ChannelState {
    return this.channelState;
  }

  /** The join_ref of the current (or last) join. */
  get joinRef(): string | null {
    return this.currentJoinRef;
  }

  /** A link opened: join on it. */
  attach(transport: ChannelTransport): void {
    if (this.disposed) return;
    this.clearTimers();
    this.transport = transport;
    this.rejoinAttempts = 0;
    this.join();
  }

  /** The link is gone: forget it; in-flight pushes will be sent again after the next join. */
  detach(): void {
    this.clearTimers();
    this.transport = null;
    this.channelState = 'closed';
    this.pushes.requeueInFlight();
  }

  /**
   * Leave and join again at once on the same link, so the server replays from the
   * `last_seq` the client holds now (used when events are missing).
   */
  rejoin(): void {
    if (this.disposed || this.transport === null || !this.transport.isOpen) return;
    this.clearTimers();
    this.sendLeave();
    this.pushes.requeueInFlight();
    this.join();
  }

  /** Sends `phx_leave` (best effort) and stops. Pending pushes fail with `error`. */
  dispose(error: ModelRiverError): void {
    if (this.disposed) return;
    this.disposed = true;
    this.clearTimers();
    if (this.channelState === 'joined' || this.channelState === 'joining') this.sendLeave();
    this.channelState = 'closed';
    this.transport = null;
    this.pushes.dropAll(error);
  }

  /**
   * Sends an event to the topic now if joined, else queues it (bounded, with a timeout).
   *
   * @example
   * ```ts
   * await channel.push('cancel', {}).promise();
   * ```
   */
  push(event: string, payload: Record<string, unknown>): Push {
    if (this.disposed) {
      const push = this.pushes.add(event, payload, null);
      push.reject(new ModelRiverError('not_connected', `cannot push "${event}": the channel was closed`));
      return push;
    }
    return this.pushes.add(event, payload, this.channelState === 'joined' ? this.sender : null);
  }

  /** Handles a frame from the link. Frames for other topics and stale joins are ignored. */
  handleFrame(frame: Frame): void {
    if (this.disposed) return;
    const [joinRef, ref, topic, event, payload] = frame;
    if (topic !== this.topic) return;
    // Broadcasts may carry a null join_ref; a different non-null one belongs to an earlier join.
    if (joinRef !== null && joinRef !== this.currentJoinRef) return;

    if (event === PhoenixEvent.reply) {
      if (ref !== null && ref === this.currentJoinRef && this.channelState === 'joining') this.handleJoinReply(frame);
      else if (ref !== null) {
        const reply = asReply(payload);
        if (reply !== null) this.pushes.reply(ref, reply.status, reply.response);
      }
      return;
    }
    if (event === PhoenixEvent.error || event === PhoenixEvent.close) {
      if (this.channelState === 'joined' || this.channelState === 'joining') this.retryJoin(event);
      return;
    }
    if (this.channelState !== 'joined' && this.channelState !== 'joining') return;
    this.call(() => this.options.handlers.onEvent(event, payload, frame));
  }

  private join(): void {
    const transport = this.transport;
    if (transport === null || !transport.isOpen) {
      this.channelState = 'closed';
      return;
    }
    const joinRef = transport.makeRef();
    this.currentJoinRef = joinRef;
    this.channelState = 'joining';
    let payload: JoinPayload = {};
    try {
      payload = this.options.handlers.joinPayload();
    } catch (error) {
      reportListenerError(error);
    }
    if (!transport.send([joinRef, joinRef, this.topic, PhoenixEvent.join, payload])) {
      this.channelState = 'closed';
      return;
    }
    this.joinTimer = this.options.timers.setTimeout(() => {
      this.joinTimer = null;
      if (this.channelState !== 'joining' || this.currentJoinRef !== joinRef) return;
      // The reply may still come later; leaving makes sure it cannot count.
      this.sendLeave();
      this.retryJoin('timeout');
    }, this.options.joinTimeoutMs);
  }

  private handleJoinReply(frame: Frame): void {
    if (this.joinTimer !== null) this.options.timers.clearTimeout(this.joinTimer);
    this.joinTimer = null;
    const reply = asReply(frame[4]);
    if (reply === null) {
      this.call(() =>
        this.options.handlers.onProtocolError({
          code: 'invalid_payload',
          message: 'phx_reply payload must be {status: "ok"|"error", response}',
          frame: safeStringify(frame),
        }),
      );
      this.retryJoin('invalid_reply');
      return;
    }
    if (reply.status === 'ok') {
      const response = isRecord(reply.response) ? reply.response : {};
      const lastSeq = response.last_seq;
      const token = response.resume_token;
      this.channelState = 'joined';
      this.rejoinAttempts = 0;
      this.call(() =>
        this.options.handlers.onJoined({
          serverLastSeq: typeof lastSeq === 'number' && Number.isSafeInteger(lastSeq) && lastSeq >= 0 ? lastSeq : null,
          resumeToken: typeof token === 'string' && token !== '' ? token : null,
        }),
      );
      if (this.channelState === 'joined' && !this.disposed) this.pushes.flush(this.sender);
      return;
    }
    const rawReason = isRecord(reply.response) && typeof reply.response.reason === 'string' ? reply.response.reason : 'unknown';
    const permanent = PERMANENT_JOIN_REFUSALS[rawReason];
    if (permanent !== undefined) {
      this.channelState = 'errored';
      this.call(() => this.options.handlers.onJoinRefused(permanent, rawReason));
      return;
    }
    this.retryJoin(rawReason);
  }

  private retryJoin(reason: string): void {
    this.clearTimers();
    this.channelState = 'errored';
    this.pushes.requeueInFlight();
    this.rejoinAttempts += 1;
    const policy = this.options.rejoin;
    if (this.rejoinAttempts > policy.maxAttempts) {
      this.call(() => this.options.handlers.onJoinFailed(this.rejoinAttempts - 1, reason));
      return;
    }
    this.call(() => this.options.handlers.onChannelError(reason));
    if (this.disposed || this.channelState !== 'errored') return;
    const delay = backoffDelay(this.rejoinAttempts - 1, policy, this.options.random);
    this.rejoinTimer = this.options.timers.setTimeout(() => {
      this.rejoinTimer = null;
      if (!this.disposed && this.channelState === 'errored') this.join();
    }, delay);
  }

  private sendLeave(): void {
    const transport = this.transport;
    if (transport === null || this.currentJoinRef === null || !transport.isOpen) return;
    transport.send([this.currentJoinRef, transport.makeRef(), this.topic, PhoenixEvent.leave, {}]);
  }

  private readonly sender = (push: Push): string | null => {
    const transport = this.transport;
    if (transport === null || this.channelState !== 'joined' || !transport.isOpen) return null;
    const ref = transport.makeRef();
    return transport.send([this.currentJoinRef, ref, this.topic, push.event, push.payload]) ? ref : null;
  };

  private clearTimers(): void {
    if (this.joinTimer !== null) this.options.timers.clearTimeout(this.joinTimer);
    if (this.rejoinTimer !== null) this.options.timers.clearTimeout(this.rejoinTimer);
    this.joinTimer = null;
    this.rejoinTimer = null;
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      reportListenerError(error);
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asReply(payload: unknown): { status: string; response: unknown } | null {
  if (!isRecord(payload) || typeof payload.status !== 'string') return null;
  return { status: payload.status, response: payload.response };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, 512);
  } catch {
    return '';
  }
}
