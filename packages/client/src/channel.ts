/**
 * The channel for one request's topic: join (with `last_seq`), join replies,
 * join timeouts and rejoins, pushes, and dispatch of the topic's events. The
 * channel outlives links: the client attaches each new link to it, and it joins
 * again with whatever `last_seq` the client holds at that moment.
 *
 * Phoenix event names are string literals here (the values of protocol.ts's `PhoenixEvent`), and
 * the options and handlers start with `_`: both keep the browser bundle small (an object read for
 * its values is bundled whole; `_` names are mangled).
 */
import { backoffDelay } from './backoff.js';
import { ModelRiverError, reportListenerError, safeCall } from './errors.js';
import { isRecord, nonEmpty } from './events.js';
import type { Frame, JoinPayload } from './protocol.js';
import { Push, PushBuffer } from './push.js';
import type { PushSender } from './push.js';
import { quote } from './serializer.js';
import type { BackoffOptions, DropInfo, ProtocolErrorInfo, PushBufferOptions, Timers } from './types.js';

/** Default time a join may wait for its reply: 10 s. */
export const DEFAULT_JOIN_TIMEOUT_MS = 10_000;

/** Join refusals that will not change by retrying (the hosted service's reasons included). */
export const PERMANENT_JOIN_REFUSALS: Readonly<Record<string, 'unauthorized' | 'not_found' | 'invalid_channel_format'>> = {
  unauthorized: 'unauthorized',
  unauthorized_project_access: 'unauthorized',
  not_found: 'not_found',
  invalid_channel_format: 'invalid_channel_format',
  invalid_project_uuid: 'invalid_channel_format',
  invalid_channel_uuid: 'invalid_channel_format',
};

/** Where the channel stands on the current link. */
export type ChannelState = 'closed' | 'joining' | 'joined' | 'errored';

/** What the channel needs from a link. {@link Socket} fits. */
export interface ChannelTransport {
  readonly _isOpen: boolean;
  _makeRef(): string;
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
  _joinPayload: () => JoinPayload;
  _onJoined: (result: JoinResult) => void;
  /** A refusal that retrying will not fix; the channel stops. `code` is the normalised reason. */
  _onJoinRefused: (code: 'unauthorized' | 'not_found' | 'invalid_channel_format', reason: string) => void;
  /** The rejoin policy gave up. */
  _onJoinFailed: (attempts: number, lastReason: string) => void;
  /** A retryable channel problem (join timeout, `phx_error`, unknown refusal); a rejoin is scheduled. */
  _onChannelError: (reason: string) => void;
  /** A server event for this topic and join. */
  _onEvent: (event: string, payload: unknown, frame: Frame) => void;
  _onProtocolError: (info: ProtocolErrorInfo) => void;
  _onDrop: (info: DropInfo) => void;
}

/** Options of {@link Channel}. */
export interface ChannelOptions {
  topic: string;
  timers: Timers;
  _random: () => number;
  _joinTimeoutMs: number;
  _rejoin: BackoffOptions;
  _pushBuffer: PushBufferOptions;
  _handlers: ChannelHandlers;
}

/**
 * A Phoenix channel bound to one topic across any number of links.
 *
 * @example
 * ```ts
 * const channel = new Channel({ topic, timers, _random: Math.random, _joinTimeoutMs: 10_000, _rejoin: DEFAULT_REJOIN,
 *   _pushBuffer: DEFAULT_PUSH_BUFFER, _handlers: handlers });
 * socket = new Socket({ ..., _handlers: { _onOpen: () => channel._attach(socket), _onFrame: (f) => channel._handleFrame(f) } });
 * channel.push('cancel', {}).receive('ok', () => console.log('cancelling'));
 * ```
 */
export class Channel {
  declare readonly topic: string;
  declare private _o: ChannelOptions;
  declare private _pushes: PushBuffer;
  declare private _state: ChannelState;
  declare private _transport: ChannelTransport | null;
  declare private _joinRef: string | null;
  /** The join timeout or the rejoin backoff: never both at once. */
  declare private _timer: unknown;
  declare private _attempts: number;
  declare private _disposed: boolean;
  declare private _sender: PushSender;

  constructor(options: ChannelOptions) {
    this.topic = options.topic;
    this._o = options;
    this._pushes = new PushBuffer({ ...options._pushBuffer, timers: options.timers, _onDrop: options._handlers._onDrop });
    this._state = 'closed';
    this._transport = this._joinRef = this._timer = null;
    this._attempts = 0;
    this._disposed = false;
    this._sender = (push) => {
      const t = this._transport;
      if (t === null || this._state !== 'joined' || !t._isOpen) return null;
      const ref = t._makeRef();
      return t.send([this._joinRef, ref, this.topic, push.event, push.payload]) ? ref : null;
    };
  }

  get state(): ChannelState {
    return this._state;
  }

  /** The join_ref of the current (or last) join. */
  get joinRef(): string | null {
    return this._joinRef;
  }

  /** A link opened: join on it. */
  _attach(transport: ChannelTransport): void {
    if (this._disposed) return;
    this._clear();
    this._transport = transport;
    this._attempts = 0;
    this._join();
  }

  /** The link is gone: forget it; in-flight pushes will be sent again after the next join. */
  _detach(): void {
    this._clear();
    this._transport = null;
    this._state = 'closed';
    this._pushes._requeueInFlight();
  }

  /**
   * Leave and join again at once on the same link, so the server replays from the
   * `last_seq` the client holds now (used when events are missing).
   */
  rejoin(): void {
    if (this._disposed || !this._transport?._isOpen) return;
    this._clear();
    this._leave();
    this._pushes._requeueInFlight();
    this._join();
  }

  /** Sends `phx_leave` (best effort) and stops. Pending pushes fail with `error`. */
  _dispose(error: ModelRiverError): void {
    if (this._disposed) return;
    this._disposed = true;
    this._clear();
    if (this._live()) this._leave();
    this._state = 'closed';
    this._transport = null;
    this._pushes._dropAll(error);
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
    if (!this._disposed) return this._pushes.add(event, payload, this._state === 'joined' ? this._sender : null);
    // Failed at once: never queued, no timer.
    const push = new Push(event, payload);
    push._settle(false, new ModelRiverError('not_connected', `push "${event}": channel closed`));
    return push;
  }

  /** Handles a frame from the link. Frames for other topics and stale joins are ignored. */
  _handleFrame(frame: Frame): void {
    const joinRef = frame[0];
    const ref = frame[1];
    const event = frame[3];
    const payload = frame[4];
    // Broadcasts may carry a null join_ref; a different non-null one belongs to an earlier join.
    if (this._disposed || frame[2] !== this.topic || (joinRef !== null && joinRef !== this._joinRef)) return;
    if (event === 'phx_reply') {
      if (ref !== null && ref === this._joinRef && this._state === 'joining') this._joinReply(payload, frame);
      else if (ref !== null && isRecord(payload) && typeof payload.status === 'string') this._pushes.reply(ref, payload.status, payload.response);
    } else if (this._live()) {
      if (event === 'phx_error' || event === 'phx_close') this._retry(event);
      else {
        try {
          this._o._handlers._onEvent(event, payload, frame);
        } catch (error) {
          reportListenerError(error);
        }
      }
    }
  }

  private _live(): boolean {
    return this._state === 'joined' || this._state === 'joining';
  }

  private _join(): void {
    const t = this._transport;
    this._state = 'closed';
    if (t === null || !t._isOpen) return;
    const joinRef = t._makeRef();
    this._joinRef = joinRef;
    this._state = 'joining';
    let payload: JoinPayload = {};
    try {
      payload = this._o._handlers._joinPayload();
    } catch (error) {
      reportListenerError(error);
    }
    if (!t.send([joinRef, joinRef, this.topic, 'phx_join', payload])) {
      this._state = 'closed';
      return;
    }
    this._timer = this._o.timers.setTimeout(() => {
      this._timer = null;
      if (this._state !== 'joining' || this._joinRef !== joinRef) return;
      // The reply may still come later; leaving makes sure it cannot count.
      this._leave();
      this._retry('timeout');
    }, this._o._joinTimeoutMs);
  }

  private _joinReply(payload: unknown, frame: Frame): void {
    this._clear();
    const h = this._o._handlers;
    if (!isRecord(payload) || typeof payload.status !== 'string') {
      safeCall(h._onProtocolError, { code: 'invalid_payload', message: 'phx_reply must be {status, response}', frame: quote(frame) });
      this._retry('invalid_reply');
      return;
    }
    const response = isRecord(payload.response) ? payload.response : {};
    if (payload.status === 'ok') {
      const lastSeq = response.last_seq;
      const token = response.resume_token;
      this._state = 'joined';
      this._attempts = 0;
      safeCall(h._onJoined, {
        serverLastSeq: Number.isSafeInteger(lastSeq) && (lastSeq as number) >= 0 ? (lastSeq as number) : null,
        resumeToken: nonEmpty(token) ? token : null,
      });
      if (this._state === 'joined' && !this._disposed) this._pushes._flush(this._sender);
      return;
    }
    const reason = typeof response.reason === 'string' ? response.reason : 'unknown';
    const permanent = PERMANENT_JOIN_REFUSALS[reason];
    if (permanent === undefined) return this._retry(reason);
    this._state = 'errored';
    try {
      h._onJoinRefused(permanent, reason);
    } catch (error) {
      reportListenerError(error);
    }
  }

  private _retry(reason: string): void {
    this._clear();
    this._state = 'errored';
    this._pushes._requeueInFlight();
    const attempts = ++this._attempts;
    const policy = this._o._rejoin;
    const h = this._o._handlers;
    try {
      if (attempts > policy.maxAttempts) return h._onJoinFailed(attempts - 1, reason);
      h._onChannelError(reason);
    } catch (error) {
      reportListenerError(error);
    }
    if (this._disposed || this._state !== 'errored' || attempts > policy.maxAttempts) return;
    this._timer = this._o.timers.setTimeout(() => {
      this._timer = null;
      if (!this._disposed && this._state === 'errored') this._join();
    }, backoffDelay(attempts - 1, policy, this._o._random));
  }

  private _leave(): void {
    const t = this._transport;
    if (t !== null && this._joinRef !== null && t._isOpen) t.send([this._joinRef, t._makeRef(), this.topic, 'phx_leave', {}]);
  }

  private _clear(): void {
    if (this._timer !== null) this._o.timers.clearTimeout(this._timer);
    this._timer = null;
  }
}
