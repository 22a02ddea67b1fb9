/**
 * A session is one request across any number of links: its channel, the events it
 * delivers, the `stream()` consumer and `cancel()` waiters, and how it ends
 * (finished, failed, stopped or replaced). Its links are the reconnect loop's
 * (reconnect-loop.ts); the seq bookkeeping is gap-rejoin.ts; what it writes for a
 * reload goes through the resume record (resume-record.ts).
 *
 * Each join asks for the events after the highest `seq` applied, so the text is
 * neither lost nor duplicated however often the link drops.
 *
 * The per-token path (`_event`: validate → seq check → apply → persist → stream()
 * consumer → emit → notify) allocates nothing of its own: the store's working copy
 * of the state is changed in place.
 *
 * Private members start with `_` so the published build can mangle them.
 */
import { Channel } from './channel.js';
import type { JoinResult } from './channel.js';
import { ModelRiverError } from './errors.js';
import type { ErrorCode } from './errors.js';
import type { EventStream } from './event-stream.js';
import { checkServerEvent, rejectionCode } from './events.js';
import { GapRejoin } from './gap-rejoin.js';
import type { Frame, ResponsePayload } from './protocol.js';
import { ReconnectLoop } from './reconnect-loop.js';
import type { LinkEvents, LoopConfig } from './reconnect-loop.js';
import type { LiveFields, LiveRequest, ResumeRecord } from './resume-record.js';
import { quote } from './serializer.js';
import type { Socket } from './socket.js';
import type { StateStore } from './state-store.js';
import type { PersistedRequest } from './storage.js';
import { isTerminalStatus } from './stream-state.js';
import type { LinkToken } from './token-source.js';
import type { ConnectingInfo, ConnectionTransition, ProtocolErrorInfo, StreamEvent, StreamState } from './types.js';

/** Which request, and where: `connect()`'s options or a resume record. */
export type RequestAddress = Pick<PersistedRequest, 'channelId' | 'websocketUrl' | 'websocketChannel'>;

/** What a session needs from the client that owns it. */
export interface SessionHost extends LoopConfig {
  readonly _store: StateStore;
  readonly _resume: ResumeRecord;
  /** The client's current session: a session that is not it has nothing more to say. */
  readonly _session: Session | null;
  /** The session ended: the client lets go of it (if it is still the current one). */
  _release(session: Session): void;
  /** Emits to the app's listeners (a listener that throws is reported, not rethrown). */
  _emit(event: string, a?: unknown, b?: unknown): void;
}

/**
 * Where a session stands: setting up a link (`connecting` for the first one, `reconnecting`
 * after one was up), `open`, `waiting` out a retry's backoff, `stopped` until `reconnect()`
 * (retries off), or `ended` (finished, failed, stopped or replaced: final).
 */
export type SessionPhase = 'connecting' | 'reconnecting' | 'open' | 'waiting' | 'stopped' | 'ended';

/**
 * One request, across links.
 *
 * @example
 * ```ts
 * const session = new Session(host, { channelId, websocketUrl, websocketChannel }, { _value: wsToken, _via: 'ws_token' });
 * session._start(undefined);
 * await session._cancel();
 * ```
 */
export class Session implements LinkEvents, LiveRequest {
  declare readonly _channelId: string;
  declare readonly _websocketChannel: string | undefined;
  declare readonly _channel: Channel;
  /** The `stream()` consumer, and how to stop feeding it: failed with an error, else ended (with the reason given). */
  declare _sink: EventStream | null;
  declare _detachSink: (reason?: Error | string) => void;
  declare private _host: SessionHost;
  declare private _loop: ReconnectLoop;
  /** Read freely; changed only by `_to`. */
  declare _phase: SessionPhase;
  declare private _gaps: GapRejoin;
  declare private _cancelWaiters: Set<() => void>;

  constructor(host: SessionHost, { channelId, websocketUrl, websocketChannel }: RequestAddress, token: LinkToken | null) {
    const topic = websocketChannel ?? `ai_response:${channelId}`;
    const cfg = host._cfg;
    const env = host._env;
    this._host = host;
    this._channelId = channelId;
    this._websocketChannel = websocketChannel;
    this._phase = 'connecting';
    this._gaps = new GapRejoin();
    this._sink = null;
    this._detachSink = () => undefined;
    this._cancelWaiters = new Set();
    this._loop = new ReconnectLoop(host, this, token, websocketUrl);
    this._channel = new Channel({
      topic,
      timers: env.timers,
      _random: env.random,
      _joinTimeoutMs: cfg._joinTimeoutMs,
      _rejoin: cfg._rejoin,
      _pushBuffer: cfg._pushBuffer,
      _handlers: {
        _joinPayload: () => ({ last_seq: host._store._state.lastSeq }),
        _onJoined: (result) => this._joined(result),
        _onJoinRefused: (code, reason) => {
          host._emit('channel_error', reason);
          // The topic was guessed from channelId: the fix is the ack's websocket_channel, not channelId.
          const hint = websocketChannel === undefined ? ` (topic ${topic}: pass the ack's websocket_channel as websocketChannel)` : '';
          this._fail(code, `join refused: ${reason}${hint}`, true);
        },
        _onJoinFailed: (attempts, reason) => this._fail('join_failed', `join failed ${attempts + 1} times (${reason})`, false),
        _onChannelError: (reason) => host._emit('channel_error', reason),
        _onEvent: (event, payload, frame) => this._event(event, payload, frame),
        _onProtocolError: (info) => host._emit('protocol_error', info),
        _onDrop: (info) => host._emit('dropped', info),
      },
    });
  }

  /** Shows the request in the state (`restored`: the text already held for it) and opens its first link. */
  _start(restored: PersistedRequest | undefined): void {
    const store = this._host._store;
    store.apply({ type: 'start', channelId: this._channelId, at: this._host._env.now(), restored });
    this._keep(true);
    store._schedule();
    this._loop._open();
  }

  /** The one place the phase changes; returns the link state's transition (unchanged for `ended`). */
  private _to(next: SessionPhase, reason: string): ConnectionTransition {
    this._phase = next;
    const store = this._host._store;
    // The link state each phase shows; `ended` leaves it to whoever ended the session.
    const link =
      next === 'open' ? 'connected' : next === 'waiting' ? 'reconnecting' : next === 'stopped' ? 'disconnected' : next === 'ended' ? store._state.connectionState : next;
    return store._setConnection(link, reason);
  }

  /** Ended, or no longer the client's: nothing it hears may touch the client. */
  _isOver(): boolean {
    return this._phase === 'ended' || this._host._session !== this;
  }

  /** A link is being set up or is up: a new token would be wasted. */
  _busy(): boolean {
    const phase = this._phase;
    return phase === 'connecting' || phase === 'reconnecting' || phase === 'open';
  }

  /** Opens a link now: with `token` (undefined: the one at hand) and `url` when given. */
  _retryNow(token?: LinkToken | null, url?: string): void {
    this._loop._retryNow(token, url);
  }

  /** The record's view of this request (see resume-record.ts). */
  _fields(): LiveFields {
    const loop = this._loop;
    return { channelId: this._channelId, resumeToken: loop._token?._value ?? null, websocketUrl: loop._url, websocketChannel: this._websocketChannel };
  }

  /** `stream` is fed this request's events from now on; the stream it replaces ends as after a `break`. */
  _feed(stream: EventStream, detach: (reason?: Error | string) => void): void {
    this._detachSink('replaced by a new stream()');
    this._sink = stream;
    this._detachSink = detach;
  }

  /** `stream` is fed no more (if it still was). */
  _unfeed(stream: EventStream): void {
    if (this._sink === stream) this._sink = null;
  }

  /** Asks the gateway to stop generating; see `ModelRiverClient.cancel`. */
  _cancel(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Ended, or its final response is being delivered (a `response` listener calling cancel()).
      if (this._phase === 'ended' || isTerminalStatus(this._host._store._state.status)) return resolve();
      const waiters = this._cancelWaiters;
      const done = (): void => {
        waiters.delete(done);
        resolve();
      };
      waiters.add(done);
      this._channel
        .push('cancel', {})
        .receive('ok', done)
        .receive('error', (error) => {
          waiters.delete(done);
          reject(error);
        });
    });
  }

  /** Stops everything the session runs, its link closed saying `why`. Does not touch the resume record or the link state. */
  _end(error: ModelRiverError, why = 'client disconnect'): void {
    this._to('ended', why);
    this._channel._dispose(error);
    this._loop._close(why);
    this._detachSink(error);
  }

  /** A failure that stops the request. `permanent`: retrying can never help, so the resume record goes too. */
  _fail(code: ErrorCode | (string & {}), message: string, permanent: boolean): void {
    if (this._phase === 'ended') return;
    const host = this._host;
    const store = host._store;
    const error = new ModelRiverError(code, message);
    this._end(error);
    host._release(this);
    // Kept so reconnect() can try again later, unless retrying is pointless.
    if (permanent) host._resume._forget();
    else host._resume._flush();
    store.apply({ type: 'failed', code, message, at: host._env.now() });
    store._setConnection('error', code);
    store._flush();
    host._emit('error', error);
  }

  // ------------------------------------------------------ what the reconnect loop reports

  _linking(reconnecting: boolean, info: ConnectingInfo | null): void {
    this._to(reconnecting ? 'reconnecting' : 'connecting', 'connect');
    if (info !== null) this._host._emit('connecting', info);
  }

  _opened(socket: Socket): void {
    this._to('open', 'open');
    this._host._emit('connected');
    // A `connected` listener may have ended the request.
    if (!this._isOver() && this._loop._hasLink()) this._channel._attach(socket);
  }

  _frame(frame: Frame): void {
    this._channel._handleFrame(frame);
  }

  _protocolError(info: ProtocolErrorInfo): void {
    this._host._emit('protocol_error', info);
  }

  _down(): void {
    this._channel._detach();
    this._keep(true);
  }

  _waiting(reason: string, stopped: boolean): void {
    this._host._emit('disconnected', reason, this._to(stopped ? 'stopped' : 'waiting', reason));
  }

  // ------------------------------------------------------ the channel

  /** Keeps the request resumable: written now (a token or URL changed hands), or throttled (`now` false, per event). */
  _keep(now: boolean): void {
    if (this._phase !== 'ended') this._host._resume._keep(this, now);
  }

  private _joined(result: JoinResult): void {
    if (this._isOver()) return;
    const host = this._host;
    const store = host._store;
    const lastSeq = store._state.lastSeq;
    if (result.resumeToken !== null) this._loop._useToken({ _value: result.resumeToken, _via: 'resume_token' });
    if (result.serverLastSeq !== null && result.serverLastSeq < lastSeq) {
      // Everything the server sends now will look like a duplicate: say so rather than stall silently.
      host._emit('protocol_error', { code: 'invalid_payload', message: `server last_seq ${result.serverLastSeq} < applied ${lastSeq}`, frame: '' });
    }
    const steps = store._state.steps;
    store.apply({ type: 'joined', at: host._env.now() });
    this._emitSteps(steps);
    // Written at once: the previous token is spent, and a reload must find the new one.
    this._keep(true);
    host._emit('channel_joined', { topic: this._channel.topic, serverLastSeq: result.serverLastSeq ?? lastSeq, resumed: lastSeq > 0 });
    store._schedule();
  }

  /** The per-event hot path: validate, seq check, apply in place, persist, feed the stream, emit, notify. */
  private _event(event: string, payload: unknown, frame: Frame): void {
    if (this._isOver()) return;
    const host = this._host;
    const store = host._store;
    const state = store._state;
    const checked = checkServerEvent(event, payload);
    if (typeof checked === 'string') {
      // `checked` is the message naming what is wrong; validating again just for the code would be waste.
      host._emit('protocol_error', { code: rejectionCode(event), message: checked, frame: quote(frame) });
      this._gaps._invalid((payload as { seq?: unknown } | null)?.seq, state.lastSeq);
      return;
    }
    const p = checked as { seq: number; first_seq?: number; status?: string };
    const verdict = this._gaps._verdict(state.lastSeq, p);
    if (verdict === 'skip') store.apply({ type: 'skip', seq: state.lastSeq + 1 });
    else if (verdict !== 'apply') {
      if (verdict === 'duplicate') return;
      if (verdict === 'overlap') {
        host._emit('protocol_error', { code: 'invalid_payload', message: `merged frame ${p.first_seq}..${p.seq} overlaps applied ${state.lastSeq}`, frame: quote(frame) });
      }
      // Events are missing (or a merged frame straddles what we have): ask for them again,
      // unless a rejoin in flight will replay everything after lastSeq anyway.
      if (this._channel.state !== 'joined') return;
      if (!this._gaps._again()) return this._fail('protocol_error', `events after seq ${state.lastSeq} never came`, false);
      host._log(`gap after ${state.lastSeq}: rejoin`);
      return this._channel.rejoin();
    }
    const steps = state.steps;
    store.apply(event, p);
    this._gaps._progress();
    // Only a response changes the steps or ends the request: the per-token path stays short.
    if (event === 'response') return this._response(p as unknown as ResponsePayload, steps);
    this._keep(false);
    // Handed to a `stream()` consumer synchronously, as it arrives, before any listener can end the request.
    this._sink?.push({ type: event, payload: p } as StreamEvent);
    host._emit(event, p);
    store._schedule();
  }

  /**
   * A response (applied): the `stream()` consumer and the resume record are dealt with before the
   * app's listeners hear of it, since a listener may disconnect() or connect() another request;
   * whatever it does, a terminal response still finishes this one: nothing more will come, so the
   * link is closed on purpose and the request forgotten.
   */
  private _response(p: ResponsePayload, before: StreamState['steps']): void {
    const host = this._host;
    const store = host._store;
    const terminal = isTerminalStatus(p.status);
    if (terminal) {
      // Forgotten before anyone hears of the end, so no listener can resume a finished request;
      host._resume._forget();
      // and answered now: a cancel() in flight must not fail because a listener then disconnects.
      for (const waiter of [...this._cancelWaiters]) waiter();
    } else this._keep(false);
    this._sink?.push({ type: 'response', payload: p });
    if (terminal) this._detachSink();
    const steps = store._state.steps;
    host._emit('response', p);
    // A listener that started another request (or reset()) replaced the steps: those are not this response's.
    if (store._state.steps === steps) this._emitSteps(before);
    store._schedule();
    if (!terminal) return;
    // A listener may already have ended the session (disconnect(), or connect() for another request):
    // its link is gone then, and the link state is not this request's any more. A session not ended
    // is the client's (every path that ends one lets go of it).
    if (this._phase !== 'ended') {
      host._release(this);
      // (Its stream() consumer was ended above; one a listener attached since then fails.)
      this._end(new ModelRiverError('not_connected', 'the request has ended'), 'request finished');
      if (store._state.connectionState !== 'disconnected') {
        host._emit('disconnected', 'completed', store._setConnection('disconnected', 'completed'));
      }
      store._flush();
    }
    // Owed either way: the app hears of every failed request once.
    if (p.status === 'error') {
      host._emit('error', new ModelRiverError(p.error?.code ?? 'request_failed', p.error?.message ?? 'the request failed', { details: { response: p } }));
    }
  }

  private _emitSteps(before: StreamState['steps']): void {
    const steps = this._host._store._state.steps;
    if (steps !== before) for (const step of steps) if (!before.includes(step)) this._host._emit('step', step);
  }
}
