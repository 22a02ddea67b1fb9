/**
 * `ModelRiverClient`: composes the link (socket.ts), the channel (channel.ts),
 * the event validator (events.ts), the reducer (stream-state.ts), persistence
 * (storage.ts) and notifications (notifier.ts) into today's client API, plus
 * lossless resume, cancel and `for await` streaming.
 *
 * One request at a time is a "session". A session survives any number of links:
 * each link is opened with a token never presented before (the first `ws_token`,
 * then the latest join's `resume_token`, else `getToken`, else the backend), and
 * each join asks for the events after the highest `seq` applied, so the text is
 * neither lost nor duplicated however often the link drops.
 *
 * The per-token path (socket → decode → validate → seq check → apply → emit →
 * notify → persist) allocates nothing of its own: the state is a private working
 * copy changed in place, and the immutable snapshot `getState()` returns is built
 * only when somebody asks for it (and cached until the next change).
 *
 * Private members start with `_` so the published build can mangle them.
 */
import EventEmitter from 'eventemitter3';
import { DEFAULT_RECONNECT, DEFAULT_REJOIN, backoffDelay, resolveBackoff } from './backoff.js';
import { Channel, DEFAULT_JOIN_TIMEOUT_MS } from './channel.js';
import type { JoinResult } from './channel.js';
import { resolveEnv } from './env.js';
import type { ClientEnv } from './env.js';
import { ModelRiverError, reportListenerError } from './errors.js';
import type { ErrorCode } from './errors.js';
import { EventStream } from './event-stream.js';
import { checkServerEvent, parseServerEvent } from './events.js';
import { createNotifier } from './notifier.js';
import type { Notifier } from './notifier.js';
import { ClientEvent } from './protocol.js';
import type { Frame, ResponsePayload } from './protocol.js';
import { DEFAULT_PUSH_BUFFER } from './push.js';
import { DEFAULT_MAX_FRAME_BYTES, quote } from './serializer.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, Socket } from './socket.js';
import type { LinkClose } from './socket.js';
import { RequestStore } from './storage.js';
import type { PersistedRequest } from './storage.js';
import { applyAction, applyEvent, classifySeq, flushText, initialStreamState, snapshotOf } from './stream-state.js';
import type { StreamAction } from './stream-state.js';
import type {
  BackoffOptions,
  ConnectingInfo,
  ConnectionState,
  ConnectionTransition,
  ConnectOptions,
  ModelRiverClientOptions,
  ModelRiverEventMap,
  ModelRiverEventType,
  PushBufferOptions,
  StreamEvent,
  StreamState,
  TokenGrant,
} from './types.js';

/** The hosted service's socket URL, today's default `baseUrl`. */
export const DEFAULT_BASE_URL = 'wss://api.modelriver.com/socket';
/** Today's storage key prefix. */
export const DEFAULT_STORAGE_KEY_PREFIX = 'modelriver_';
/** A persisted request older than this (ms) is dropped. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

/**
 * Reasons of connection state changes (`ConnectionTransition.reason`, and the
 * `reason` argument of the `disconnected` event). Failures use the error code
 * (`unauthorized`, `connection_failed`, …).
 */
export const ConnectionReason = {
  /** `connect()`, `reconnect()` or `reconnectWithBackend()` started a request. */
  connect: 'connect',
  open: 'open',
  /** The link ended without a close handshake. */
  lost: 'lost',
  /** The server closed the link. */
  closedByServer: 'closed_by_server',
  /** The link closed before it opened (refused token, unreachable host). */
  refused: 'refused',
  heartbeatTimeout: 'heartbeat_timeout',
  /** Getting a token failed for a reason that may pass (network, 5xx); retried. */
  tokenError: 'token_error',
  /** `disconnect()`, `reset()` or `destroy()`. */
  manual: 'manual',
  /** The request ended (a terminal `response`); the link was closed on purpose. */
  completed: 'completed',
} as const;
export type ConnectionReason = (typeof ConnectionReason)[keyof typeof ConnectionReason];

/** A token for the next link, and where it came from. */
interface LinkToken {
  _value: string;
  _via: ConnectingInfo['via'];
}

/** A token and the URL it came with; `null`: no token to be had; `undefined`: a failure that may pass. */
type TokenOutcome = { _token: LinkToken; _url?: string | undefined } | null | undefined;

/** One request, across links. */
interface Session {
  readonly _channelId: string;
  readonly _topic: string;
  /** As given (persisted as given, so a reload resolves defaults the same way). */
  _websocketUrl: string | undefined;
  readonly _websocketChannel: string | undefined;
  readonly _channel: Channel;
  /** The token the next link will present; null once consumed by an opened link. */
  _token: LinkToken | null;
  _socket: Socket | null;
  /** Consecutive failed links (reset after `minUptimeMs` up). */
  _attempts: number;
  _retryTimer: unknown;
  _openedAt: number | null;
  _everOpened: boolean;
  _acquiring: boolean;
  /** Not retrying until `reconnect()` (reconnect: false, or a failure). */
  _stopped: boolean;
  _ended: boolean;
  /** Gap/overlap rejoins since the last applied event. */
  _gapRejoins: number;
  /** The seq of an invalid event that came next in order (see `_onEvent`). */
  _badSeq: number;
  /** The `stream()` consumer and how to stop feeding it. */
  _sink: EventStream | null;
  _detachSink: () => void;
  _cancelWaiters: Set<() => void>;
  /** Builds the record to persist, when a throttled write happens. */
  _record: () => PersistedRequest;
}

/** Rejoins for missing events allowed without any progress before the server is deemed broken. */
const MAX_GAP_REJOINS_WITHOUT_PROGRESS = 10;

type AnyListener = (a?: unknown, b?: unknown) => void;
type StateListener = (state: StreamState, previous: StreamState) => void;

const invalidOptions = (message: string): ModelRiverError => new ModelRiverError('invalid_options', message);

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * The ModelRiver streaming client: connect with what your backend got from
 * `POST /v1/ai/async`, and receive tokens, tool calls, status and the final
 * response over a Phoenix channel, resumed losslessly across drops and reloads.
 *
 * Options (all optional): `baseUrl` (default `wss://api.modelriver.com/socket`),
 * `apiBaseUrl`, `persist` (true), `storageKeyPrefix` (`modelriver_`),
 * `heartbeatInterval` (30 000), `joinTimeout` (10 000), `requestTimeout` (300 000),
 * `reconnect` ({initialDelayMs 500, maxDelayMs 30 000, factor 2, maxAttempts ∞,
 * minUptimeMs 5 000} or false), `rejoin` ({1 000, 30 000, 2, 10 attempts}),
 * `getToken`, `pushBuffer` ({maxSize 100, timeoutMs 10 000}), `notify` ('sync'),
 * `maxFrameBytes` (4 MiB), and the injected environment (`WebSocket`, `storage`,
 * `timers`, `now`, `random`, `lifecycle`, `fetch`). Invalid options throw
 * `ModelRiverError('invalid_options')`.
 *
 * The constructor never connects. When a persisted unfinished request exists, its
 * text is in `getState()` at once and `hasPendingRequest()` is true: call
 * `reconnect()` to resume it.
 *
 * @example
 * ```ts
 * const client = new ModelRiverClient({ getToken: (id) => api.reconnect(id) });
 * client.on('tokens', (e) => output.append(e.delta));
 * client.on('response', (r) => console.log('done:', r.status));
 * client.on('error', (err) => console.error(err.code, err.message));
 * client.connect({ channelId: ack.channel_id, wsToken: ack.ws_token,
 *   websocketUrl: ack.websocket_url, websocketChannel: ack.websocket_channel });
 * ```
 */
export class ModelRiverClient {
  /** @internal */
  declare private _o: ModelRiverClientOptions;
  /** @internal */
  declare private _env: ClientEnv;
  /** @internal */
  declare private _reconnect: BackoffOptions | false;
  /** @internal */
  declare private _rejoin: BackoffOptions;
  /** @internal */
  declare private _pushBuffer: PushBufferOptions;
  /** @internal */
  declare private _heartbeatMs: number;
  /** @internal */
  declare private _joinTimeoutMs: number;
  /** @internal */
  declare private _maxFrameBytes: number;
  /** @internal */
  declare private _store: RequestStore | null;
  /** @internal */
  declare private _emitter: EventEmitter;
  /**
   * The guard registered with `_emitter` for each app listener, by event: a listener that throws is
   * reported and the others still run, and `off` finds what to remove. Also keeps listeners unique.
   */
  /** @internal */
  declare private _guards: Map<string, Map<AnyListener, AnyListener>>;
  /** @internal */
  declare private _subscribers: StateListener[];
  /** @internal */
  declare private _notifier: Notifier;
  /** `notify` is not 'sync'. */
  /** @internal */
  declare private _deferred: boolean;
  /** The working copy of the state, changed in place. */
  /** @internal */
  declare private _state: StreamState;
  /** Token deltas not yet joined into `_state.text` (see `flushText`). */
  /** @internal */
  declare private _pending: string[];
  /** Bumped on every change of `_state`. */
  /** @internal */
  declare private _version: number;
  /** The latest snapshot, valid while `_snapshotVersion === _version`. */
  /** @internal */
  declare private _snapshot: StreamState;
  /** @internal */
  declare private _snapshotVersion: number;
  /** The snapshot last delivered; null while nobody listened (it was not worth building). */
  /** @internal */
  declare private _delivered: StreamState | null;
  /** @internal */
  declare private _deliveredVersion: number;
  /** @internal */
  declare private _session: Session | null;
  /** The latest resumable request: a record, or a live session the record is built from when needed (works with `persist: false` too). */
  /** @internal */
  declare private _resumable: PersistedRequest | Session | null;
  /** @internal */
  declare private _stopLifecycle: (() => void) | null;
  /** @internal */
  declare private _destroyed: boolean;

  constructor(options: ModelRiverClientOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidOptions('options must be an object');
    const notify = options.notify;
    const pushBuffer = {
      maxSize: options.pushBuffer?.maxSize ?? DEFAULT_PUSH_BUFFER.maxSize,
      timeoutMs: options.pushBuffer?.timeoutMs ?? DEFAULT_PUSH_BUFFER.timeoutMs,
    };
    const positive = (name: keyof ModelRiverClientOptions, fallback: number): number => {
      const given = options[name];
      const value = given === undefined ? fallback : given;
      if (typeof value !== 'number' || !(value > 0)) throw invalidOptions(`${name} must be a number > 0, got ${String(value)}`);
      return value;
    };
    this._o = options;
    this._reconnect = options.reconnect === false ? false : resolveBackoff(options.reconnect, DEFAULT_RECONNECT, 'reconnect');
    this._rejoin = resolveBackoff(options.rejoin, DEFAULT_REJOIN, 'rejoin');
    if (!Number.isInteger(pushBuffer.maxSize) || pushBuffer.maxSize < 0) {
      throw invalidOptions(`pushBuffer.maxSize must be an integer >= 0, got ${String(pushBuffer.maxSize)}`);
    }
    if (typeof pushBuffer.timeoutMs !== 'number' || !(pushBuffer.timeoutMs > 0)) {
      throw invalidOptions(`pushBuffer.timeoutMs must be a number > 0, got ${String(pushBuffer.timeoutMs)}`);
    }
    this._pushBuffer = pushBuffer;
    this._heartbeatMs = positive('heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL_MS);
    this._joinTimeoutMs = positive('joinTimeout', DEFAULT_JOIN_TIMEOUT_MS);
    this._maxFrameBytes = positive('maxFrameBytes', DEFAULT_MAX_FRAME_BYTES);
    const maxAgeMs = positive('requestTimeout', DEFAULT_REQUEST_TIMEOUT_MS);
    if (
      !(notify === undefined || notify === 'sync' || notify === 'microtask' || notify === 'animationFrame') &&
      !(typeof notify === 'object' && notify !== null && typeof notify.intervalMs === 'number' && notify.intervalMs > 0)
    ) {
      throw invalidOptions('notify must be sync, microtask, animationFrame or {intervalMs > 0}');
    }
    if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
      throw invalidOptions('WebSocket must be a constructor, e.g. the `ws` package');
    }
    if (options.getToken !== undefined && typeof options.getToken !== 'function') {
      throw invalidOptions('getToken must be a function');
    }
    const env = (this._env = resolveEnv(options));
    this._store =
      env.storage === null
        ? null
        : new RequestStore({ storage: env.storage, prefix: options.storageKeyPrefix ?? DEFAULT_STORAGE_KEY_PREFIX, now: env.now, maxAgeMs, timers: env.timers });
    this._notifier = createNotifier(notify ?? 'sync', env, () => this._deliver());
    this._deferred = (notify ?? 'sync') !== 'sync';
    this._emitter = new EventEmitter();
    this._guards = new Map();
    this._subscribers = [];
    this._state = initialStreamState();
    this._pending = [];
    this._version = this._snapshotVersion = this._deliveredVersion = 0;
    this._session = this._stopLifecycle = this._resumable = null;
    this._destroyed = false;
    // A reload shows the text so far at once; resuming waits for reconnect().
    const record = this._store?.load() ?? null;
    if (record !== null) {
      this._resumable = record;
      this._apply({ type: 'start', channelId: record.channelId, at: env.now(), restored: record });
      this._apply({ type: 'pending', hasPendingRequest: true });
    }
    this._snapshot = snapshotOf(this._state);
    this._snapshotVersion = this._deliveredVersion = this._version;
    this._delivered = this._snapshot;
  }

  // ---------------------------------------------------------------- public API

  /**
   * The current state snapshot: immutable, a new object after every change and
   * the same object while nothing changed.
   *
   * @example
   * ```ts
   * const { text, status, isConnected } = client.getState();
   * ```
   */
  getState(): StreamState {
    if (this._snapshotVersion !== this._version) {
      this._snapshot = snapshotOf(this._state, this._snapshot, this._pending);
      this._snapshotVersion = this._version;
    }
    return this._snapshot;
  }

  /**
   * Calls `listener(state, previous)` on every delivered state change (batched per
   * the `notify` option). Returns the unsubscribe function.
   *
   * One corner: with `notify: 'sync'` and no other state listener, the snapshot before
   * a wire event is not built (that is what keeps a token free), so a listener added
   * *from inside* a `tokens`/`status`/`tool_call`/`response`/`step` listener gets
   * `previous === state` on its first call.
   *
   * @example
   * ```ts
   * const unsubscribe = client.subscribe((state) => render(state.text));
   * ```
   */
  subscribe(listener: (state: StreamState, previous: StreamState) => void): () => void {
    if (typeof listener !== 'function') throw invalidOptions('subscribe() needs a function');
    // A wrapper per call, so subscribing one function twice gives two independent subscriptions.
    const entry: StateListener = (state, previous) => listener(state, previous);
    this._listening();
    this._subscribers = [...this._subscribers, entry];
    return () => {
      this._subscribers = this._subscribers.filter((l) => l !== entry);
    };
  }

  /**
   * Adds an event listener; returns a function that removes it. A listener that
   * throws is reported with `console.error` and does not disturb the stream.
   *
   * @example
   * ```ts
   * const off = client.on('tokens', (e) => process.stdout.write(e.delta));
   * off();
   * ```
   */
  on<K extends ModelRiverEventType>(event: K, listener: ModelRiverEventMap[K]): () => void {
    if (event === 'state') this._listening();
    let guards = this._guards.get(event);
    if (guards === undefined) this._guards.set(event, (guards = new Map()));
    const app = listener as AnyListener;
    if (!guards.has(app)) {
      const guard: AnyListener = (a, b) => {
        try {
          app(a, b);
        } catch (error) {
          reportListenerError(error);
        }
      };
      guards.set(app, guard);
      this._emitter.on(event, guard);
    }
    return () => this.off(event, listener);
  }

  /**
   * Removes a listener added with `on`.
   *
   * @example
   * ```ts
   * client.off('tokens', onTokens);
   * ```
   */
  off<K extends ModelRiverEventType>(event: K, listener: ModelRiverEventMap[K]): void {
    const guards = this._guards.get(event);
    const guard = guards?.get(listener as AnyListener);
    if (guard === undefined) return;
    guards?.delete(listener as AnyListener);
    this._emitter.off(event, guard);
  }

  /**
   * Connects to a request's channel with what your backend got from
   * `POST /v1/ai/async`. The `wsToken` is used for the first link only. Calling it
   * again for the request already connected does nothing; for the same request while
   * its link is down (or after a failure, or restored from storage) it resumes from the
   * text already held with the new token; for another request it replaces the current one. Missing `channelId`/`wsToken` emit an `error` with
   * code `invalid_options` (as today's client did) instead of throwing.
   *
   * @example
   * ```ts
   * client.connect({ channelId: ack.channel_id, wsToken: ack.ws_token,
   *   websocketUrl: ack.websocket_url, websocketChannel: ack.websocket_channel });
   * ```
   */
  connect(options: ConnectOptions): void {
    if (this._destroyed) return this._log('connect() after destroy()');
    const problem = connectOptionsProblem(options);
    if (problem !== null) {
      // Today's client only set `error` here: a misuse must not end a request that is streaming.
      this._touch();
      this._state.error = problem;
      this._state.errorCode = 'invalid_options';
      this._version++;
      this._notifier.schedule();
      return this._emit('error', invalidOptions(problem));
    }
    const token: LinkToken = { _value: options.wsToken, _via: 'ws_token' };
    const current = this._session;
    if (current !== null && !current._ended && current._channelId === options.channelId) {
      if (current._socket !== null || current._acquiring) return this._log('already connected');
      // The same request, down or waiting to retry: the fresh token resumes it from lastSeq.
      if (options.websocketUrl !== undefined) current._websocketUrl = options.websocketUrl;
      return this._retryNow(current, token);
    }
    // A request this client already holds text for (failed, or restored from storage) resumes too.
    const held = this._held();
    this._startSession(
      options.channelId,
      options.websocketUrl,
      options.websocketChannel,
      token,
      held !== null && held.channelId === options.channelId ? held : undefined,
    );
  }

  /**
   * Stops the active request: closes the link, fails pending pushes, and forgets
   * the persisted request (as today's client did), so `hasPendingRequest()` is
   * false afterwards. The state (text, steps) is kept until `reset()`.
   *
   * @example
   * ```ts
   * stopButton.onclick = () => client.disconnect();
   * ```
   */
  disconnect(): void {
    this._stop(new ModelRiverError('cancelled', 'disconnect() was called'));
  }

  /**
   * `disconnect()` and back to the initial state.
   *
   * @example
   * ```ts
   * client.reset();
   * client.getState().status; // 'idle'
   * ```
   */
  reset(): void {
    this.disconnect();
    this._apply({ type: 'reset' });
    this._notifier.flush();
  }

  /**
   * Resumes the unfinished request (after a reload, a `reconnect: false` drop, or a
   * failure such as `connection_failed`): with its resume token if one is at hand,
   * else `getToken`, else the backend (`apiBaseUrl`). Returns whether an attempt
   * started (false when there is nothing to resume, no way to get a token, or the
   * link is already up).
   *
   * @example
   * ```ts
   * const client = new ModelRiverClient({ apiBaseUrl: 'https://my.app' });
   * if (client.hasPendingRequest()) client.reconnect(); // the text so far is already in getState()
   * ```
   */
  reconnect(): boolean {
    if (this._destroyed) return false;
    const session = this._active();
    if (session !== null) {
      if (session._socket !== null || session._acquiring) return false;
      this._retryNow(session, session._token);
      return true;
    }
    const record = this._held() ?? this._store?.load() ?? null;
    if (record === null) {
      this._log('nothing to resume');
      return false;
    }
    if (record.resumeToken === null && !this._hasTokenSource()) {
      this._log('no token source');
      return false;
    }
    this._resume(record, record.resumeToken === null ? null : { _value: record.resumeToken, _via: 'resume_token' });
    return true;
  }

  /**
   * Resumes the unfinished request with a fresh token from your backend:
   * `POST {apiBaseUrl}/api/v1/ai/reconnect` with `{channel_id}`, which answers
   * `{ws_token, websocket_url, websocket_channel}`. Resolves whether a connection
   * attempt started.
   *
   * @example
   * ```ts
   * const client = new ModelRiverClient({ apiBaseUrl: 'https://my.app' });
   * await client.reconnectWithBackend();
   * ```
   */
  async reconnectWithBackend(): Promise<boolean> {
    if (this._destroyed) return false;
    const active = this._active();
    // A link that is up (or being set up) needs no token: do not spend one.
    if (active?._socket || active?._acquiring) return false;
    const record = active === null ? (this._held() ?? this._store?.load() ?? null) : null;
    const channelId = active?._channelId ?? record?.channelId;
    if (channelId === undefined) return false;
    const outcome = await this._fetchToken(channelId);
    if (!outcome || this._destroyed) return false;
    const session = this._active();
    if (session !== null && session._channelId === channelId) {
      if (session._socket !== null) return false;
      if (outcome._url !== undefined) session._websocketUrl = outcome._url;
      this._retryNow(session, outcome._token);
      return true;
    }
    const latest = this._held() ?? record;
    if (latest === null || latest.channelId !== channelId) return false;
    this._resume(outcome._url !== undefined ? { ...latest, websocketUrl: outcome._url } : latest, outcome._token);
    return true;
  }

  /**
   * Whether an unfinished request can be resumed (persisted, or held by this
   * instance). Always false with `persist: false`, as today.
   *
   * @example
   * ```ts
   * if (client.hasPendingRequest()) client.reconnect();
   * ```
   */
  hasPendingRequest(): boolean {
    if (this._store === null) return false;
    if (this._resumable !== null) return true;
    const record = this._store.load();
    if (record !== null) this._setResumable(record);
    return record !== null;
  }

  /**
   * Asks the gateway to stop generating. Resolves when the gateway accepted it
   * (or the request ended anyway); the channel then ends with a `response` whose
   * status is `cancelled`. Sent as soon as the channel is joined if the link is
   * down (within `pushBuffer.timeoutMs`). Rejects with `not_connected` when no
   * request is active, `push_timeout`/`push_overflow` when it could not be delivered.
   *
   * @example
   * ```ts
   * await client.cancel();
   * ```
   */
  cancel(): Promise<void> {
    const session = this._session;
    if (this._destroyed) return Promise.reject(new ModelRiverError('destroyed', 'cancel() after destroy()'));
    if (session === null) return Promise.reject(new ModelRiverError('not_connected', 'cancel() needs connect() first'));
    return new Promise<void>((resolve, reject) => {
      if (session._ended) return resolve();
      const done = (): void => {
        session._cancelWaiters.delete(done);
        resolve();
      };
      session._cancelWaiters.add(done);
      session._channel
        .push(ClientEvent.cancel, {})
        .receive('ok', done)
        .receive('error', (error) => {
          session._cancelWaiters.delete(done);
          reject(error);
        });
    });
  }

  /**
   * Connects and returns the request's events as an async iterable. The loop ends
   * after the terminal `response` (`success`, `completed`, `error`, `cancelled`);
   * it throws on a terminal client error (`unauthorized`, `connection_failed`, …).
   * A `break` disconnects. Aborting `signal` sends `cancel` and makes the loop
   * throw a `ModelRiverError` with code `cancelled` and name `AbortError`.
   * Throws `invalid_options` at once for missing `channelId`/`wsToken`.
   *
   * @example
   * ```ts
   * const stream = client.stream({ channelId, wsToken, websocketUrl, websocketChannel }, { signal });
   * for await (const event of stream) {
   *   if (event.type === 'tokens') process.stdout.write(event.payload.delta);
   * }
   * const final = await stream.finalResponse();
   * ```
   */
  stream(options: ConnectOptions, streamOptions: { signal?: AbortSignal } = {}): EventStream {
    if (this._destroyed) throw new ModelRiverError('destroyed', 'stream() after destroy()');
    const problem = connectOptionsProblem(options);
    if (problem !== null) throw invalidOptions(problem);
    const signal = streamOptions.signal;
    const stream = new EventStream();
    const aborted = (): ModelRiverError => new ModelRiverError('cancelled', 'the stream was aborted', { name: 'AbortError' });
    if (signal?.aborted) {
      stream.fail(aborted());
      return stream;
    }
    this.connect(options);
    const session = this._active();
    if (session === null) {
      stream.fail(new ModelRiverError('not_connected', 'the request could not start'));
      return stream;
    }
    session._detachSink();
    const onAbort = (): void => {
      if (this._session === session && !session._ended) this.cancel().catch(() => undefined);
      detach();
      stream.fail(aborted());
    };
    const detach = (): void => {
      if (session._sink === stream) session._sink = null;
      signal?.removeEventListener('abort', onAbort);
    };
    session._sink = stream;
    session._detachSink = detach;
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.onReturn = () => {
      detach();
      if (this._session === session && !session._ended) this.disconnect();
    };
    return stream;
  }

  /**
   * `reset()`, then removes every listener and stops watching page lifecycle. The
   * instance cannot be used again.
   *
   * @example
   * ```ts
   * useEffect(() => () => client.destroy(), []);
   * ```
   */
  destroy(): void {
    if (this._destroyed) return;
    this._stop(new ModelRiverError('destroyed', 'the client was destroyed'));
    this._apply({ type: 'reset' });
    this._notifier.flush();
    this._destroyed = true;
    this._stopLifecycle?.();
    this._stopLifecycle = null;
    this._notifier.dispose();
    this._emitter.removeAllListeners();
    this._guards.clear();
    this._subscribers = [];
  }

  // ---------------------------------------------------------------- sessions

  /** disconnect()'s work: end the session with `error`, forget the persisted request. */
  /** @internal */
  private _stop(error: ModelRiverError): void {
    const session = this._session;
    if (session !== null) {
      this._session = null;
      this._endSession(session, error);
    }
    this._store?.clear();
    this._setResumable(null);
    const transition = this._setConnection('disconnected', ConnectionReason.manual);
    if (session !== null) this._emit('disconnected', ConnectionReason.manual, transition);
    this._notifier.flush();
  }

  /** The session, unless there is none or it ended. */
  /** @internal */
  private _active(): Session | null {
    const session = this._session;
    return session !== null && !session._ended ? session : null;
  }

  /** @internal */
  private _startSession(
    channelId: string,
    websocketUrl: string | undefined,
    websocketChannel: string | undefined,
    token: LinkToken | null,
    restored: PersistedRequest | undefined,
  ): void {
    const previous = this._session;
    if (previous !== null) {
      this._session = null;
      this._endSession(previous, new ModelRiverError('cancelled', 'replaced by a new request'));
    }
    this._watchLifecycle();
    const topic = websocketChannel ?? `ai_response:${channelId}`;
    const fail = (code: string, message: string, permanent: boolean): void => this._fail(session, code, message, permanent);
    const session: Session = {
      _channelId: channelId,
      _topic: topic,
      _websocketUrl: websocketUrl,
      _websocketChannel: websocketChannel,
      _channel: new Channel({
        topic,
        timers: this._env.timers,
        random: this._env.random,
        joinTimeoutMs: this._joinTimeoutMs,
        rejoin: this._rejoin,
        pushBuffer: this._pushBuffer,
        handlers: {
          joinPayload: () => ({ last_seq: this._state.lastSeq }),
          onJoined: (result) => this._onJoined(session, result),
          onJoinRefused: (code, reason) => {
            this._emit('channel_error', reason);
            fail(code, `join refused: ${reason}`, true);
          },
          onJoinFailed: (attempts, reason) => fail('join_failed', `join failed ${attempts + 1} times (${reason})`, false),
          onChannelError: (reason) => this._emit('channel_error', reason),
          onEvent: (event, payload, frame) => this._onEvent(session, event, payload, frame),
          onProtocolError: (info) => this._emit('protocol_error', info),
          onDrop: (info) => this._emit('dropped', info),
        },
      }),
      _token: token,
      _socket: null,
      _attempts: 0,
      _retryTimer: null,
      _openedAt: null,
      _everOpened: false,
      _acquiring: false,
      _stopped: false,
      _ended: false,
      _gapRejoins: 0,
      _badSeq: 0,
      _sink: null,
      _detachSink: () => undefined,
      _cancelWaiters: new Set(),
      _record: () => this._record(session),
    };
    this._session = session;
    this._apply({ type: 'start', channelId, at: this._env.now(), ...(restored !== undefined ? { restored } : {}) });
    this._persist(session, true);
    this._notifier.schedule();
    this._openLink(session);
  }

  /** @internal */
  private _resume(record: PersistedRequest, token: LinkToken | null): void {
    this._startSession(record.channelId, record.websocketUrl, record.websocketChannel, token, record);
  }

  /** Stops everything a session runs. Does not touch persistence or the connection state. */
  /** @internal */
  private _endSession(session: Session, error: ModelRiverError): void {
    session._ended = true;
    this._clearRetry(session);
    session._channel.dispose(error);
    const socket = session._socket;
    session._socket = null;
    socket?.close(1000, 'client disconnect');
    const sink = session._sink;
    session._detachSink();
    sink?.fail(error);
  }

  // ---------------------------------------------------------------- links

  /** Opens a link for `session` now, with `token`, cancelling a retry that waits. */
  /** @internal */
  private _retryNow(session: Session, token: LinkToken | null): void {
    this._clearRetry(session);
    session._stopped = false;
    session._token = token;
    this._openLink(session);
  }

  /** @internal */
  private _openLink(session: Session): void {
    if (session !== this._session || session._ended || session._stopped || session._socket !== null) return;
    const token = session._token;
    if (token === null) {
      // Never an unhandled rejection: that would crash a Node process.
      this._acquireTokenAndOpen(session).catch(reportListenerError);
      return;
    }
    this._setConnection(session._everOpened ? 'reconnecting' : 'connecting', ConnectionReason.connect);
    this._emit('connecting', { attempt: session._attempts, via: token._via });
    if (session !== this._session || session._ended) return;
    const socket: Socket = new Socket({
      url: session._websocketUrl ?? this._o.baseUrl ?? DEFAULT_BASE_URL,
      token: token._value,
      WebSocket: this._env.resolveWebSocket(),
      timers: this._env.timers,
      heartbeatIntervalMs: this._heartbeatMs,
      maxFrameBytes: this._maxFrameBytes,
      handlers: {
        onOpen: () => {
          if (session._socket !== socket) return;
          // The token is spent the moment the upgrade is accepted.
          session._token = null;
          session._everOpened = true;
          session._openedAt = this._env.now();
          this._setConnection('connected', ConnectionReason.open);
          this._emit('connected');
          if (session._socket === socket && !session._ended) session._channel.attach(socket);
        },
        onFrame: (frame) => {
          if (session._socket === socket) session._channel.handleFrame(frame);
        },
        onProtocolError: (info) => {
          if (session._socket === socket) this._emit('protocol_error', info);
        },
        onClose: (info) => {
          if (session._socket === socket) this._onLinkClosed(session, info);
        },
      },
    });
    session._socket = socket;
    try {
      socket.connect();
    } catch (error) {
      session._socket = null;
      this._fail(session, 'invalid_options', (error as Error).message, false);
    }
  }

  /** @internal */
  private _onLinkClosed(session: Session, info: LinkClose): void {
    session._socket = null;
    session._channel.detach();
    const policy = this._reconnect;
    if (session._openedAt !== null && policy !== false && this._env.now() - session._openedAt >= policy.minUptimeMs) session._attempts = 0;
    session._openedAt = null;
    const presented = session._token;
    if (!info.opened && presented !== null) {
      // A 4xx at the upgrade means the token was refused; anything else may be the
      // network, and then a resume token is still the best bet unless another source exists.
      const status = info.httpStatus;
      if (status === null ? this._hasTokenSource() : status >= 400 && status < 500) session._token = null;
    }
    this._persist(session, true);
    if (
      policy === false &&
      presented !== null &&
      session._token === null &&
      !info.opened &&
      this._hasTokenSource() &&
      (presented._via === 'ws_token' || presented._via === 'resume_token')
    ) {
      // Not a reconnection but the same attempt: the stored token was refused, so ask for a fresh one
      // once (a fresh token that is refused too stops here, so this cannot loop).
      this._acquireTokenAndOpen(session).catch(reportListenerError);
      return;
    }
    this._scheduleRetry(session, info.cause);
  }

  /** @internal */
  private _scheduleRetry(session: Session, reason: string): void {
    const policy = this._reconnect;
    if (session._ended || session !== this._session) return;
    if (policy === false) {
      // No retries: wait for reconnect().
      session._stopped = true;
      this._emit('disconnected', reason, this._setConnection('disconnected', reason));
      return;
    }
    const attempts = ++session._attempts;
    this._emit('disconnected', reason, this._setConnection('reconnecting', reason));
    if (attempts > policy.maxAttempts) {
      this._fail(session, 'connection_failed', `gave up after ${policy.maxAttempts} reconnects (${reason})`, false);
      return;
    }
    if (session._ended || session !== this._session) return;
    const delay = backoffDelay(attempts - 1, policy, this._env.random);
    this._log(`retry in ${delay} ms (${reason})`);
    this._clearRetry(session);
    session._retryTimer = this._env.timers.setTimeout(() => {
      session._retryTimer = null;
      try {
        this._openLink(session);
      } catch (error) {
        reportListenerError(error);
      }
    }, delay);
  }

  /** @internal */
  private _clearRetry(session: Session): void {
    if (session._retryTimer !== null) this._env.timers.clearTimeout(session._retryTimer);
    session._retryTimer = null;
  }

  /** @internal */
  private _watchLifecycle(): void {
    if (this._stopLifecycle !== null) return;
    try {
      this._stopLifecycle = this._env.lifecycle((reason) => {
        const session = this._active();
        // Only a retry that is waiting out its backoff is hurried; a live or stopped link is left alone.
        if (session === null || session._retryTimer === null) return;
        this._log(`wake: ${reason}`);
        this._clearRetry(session);
        this._openLink(session);
      });
    } catch (error) {
      reportListenerError(error);
      this._stopLifecycle = () => undefined;
    }
  }

  // ---------------------------------------------------------------- tokens

  /** @internal */
  private _hasTokenSource(): boolean {
    return typeof this._o.getToken === 'function' || (nonEmpty(this._o.apiBaseUrl) && this._env.fetch !== null);
  }

  /** @internal */
  private async _acquireTokenAndOpen(session: Session): Promise<void> {
    if (session._acquiring) return;
    session._acquiring = true;
    this._setConnection(session._everOpened ? 'reconnecting' : 'connecting', ConnectionReason.connect);
    let outcome: TokenOutcome;
    try {
      outcome = await this._acquireToken(session._channelId);
    } finally {
      session._acquiring = false;
    }
    if (session !== this._session || session._ended || session._stopped) return;
    if (outcome) {
      session._token = outcome._token;
      if (outcome._url !== undefined) session._websocketUrl = outcome._url;
      this._persist(session, true);
      this._openLink(session);
    } else if (outcome === undefined) this._scheduleRetry(session, ConnectionReason.tokenError);
    else {
      this._fail(
        session,
        'token_unavailable',
        'no token to reconnect with: pass getToken or apiBaseUrl',
        false,
      );
    }
  }

  /** @internal */
  private async _acquireToken(channelId: string): Promise<TokenOutcome> {
    let transient = false;
    const getToken = this._o.getToken;
    if (typeof getToken === 'function') {
      try {
        const value: TokenGrant | string | null | undefined = await getToken(channelId);
        const grant = typeof value === 'string' ? { wsToken: value } : value;
        if (typeof grant === 'object' && grant !== null && nonEmpty(grant.wsToken)) {
          return { _token: { _value: grant.wsToken, _via: 'get_token' }, _url: grant.websocketUrl };
        }
      } catch (error) {
        this._log('getToken:', error);
        transient = true;
      }
    }
    const outcome = await this._fetchToken(channelId);
    return outcome ?? (transient ? undefined : outcome);
  }

  /** @internal */
  private async _fetchToken(channelId: string): Promise<TokenOutcome> {
    const apiBaseUrl = this._o.apiBaseUrl;
    const fetchFn = this._env.fetch;
    if (!nonEmpty(apiBaseUrl) || fetchFn === null) return null;
    try {
      const response = await fetchFn(`${apiBaseUrl.replace(/\/+$/, '')}/api/v1/ai/reconnect`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel_id: channelId }),
      });
      const status = response.status;
      if (!response.ok) {
        this._log(`reconnect: HTTP ${status}`);
        // 4xx says this channel gets no token (except timeouts and rate limits, which pass).
        return status >= 400 && status < 500 && status !== 408 && status !== 429 ? null : undefined;
      }
      const body = (await response.json()) as { ws_token?: unknown; websocket_url?: unknown } | null;
      const wsToken = body?.ws_token;
      if (!nonEmpty(wsToken)) {
        this._log('reconnect: no ws_token');
        return null;
      }
      return { _token: { _value: wsToken, _via: 'backend' }, _url: nonEmpty(body?.websocket_url) ? body.websocket_url : undefined };
    } catch (error) {
      this._log('reconnect:', error);
      return undefined;
    }
  }

  // ---------------------------------------------------------------- channel events

  /** @internal */
  private _onJoined(session: Session, result: JoinResult): void {
    if (session !== this._session || session._ended) return;
    const lastSeq = this._state.lastSeq;
    if (result.resumeToken !== null) session._token = { _value: result.resumeToken, _via: 'resume_token' };
    if (result.serverLastSeq !== null && result.serverLastSeq < lastSeq) {
      // Everything the server sends now will look like a duplicate: say so rather than stall silently.
      this._emit('protocol_error', {
        code: 'invalid_payload',
        message: `server last_seq ${result.serverLastSeq} < applied ${lastSeq}`,
        frame: '',
      });
    }
    const steps = this._state.steps;
    this._apply({ type: 'joined', at: this._env.now() });
    this._emitSteps(steps);
    // Written at once: the previous token is spent, and a reload must find the new one.
    this._persist(session, true);
    this._emit('channel_joined', { topic: session._topic, serverLastSeq: result.serverLastSeq ?? lastSeq, resumed: lastSeq > 0 });
    this._notifier.schedule();
  }

  /** The per-event hot path: validate, seq check, apply in place, emit, notify, persist. */
  /** @internal */
  private _onEvent(session: Session, event: string, payload: unknown, frame: Frame): void {
    if (session !== this._session || session._ended) return;
    const state = this._state;
    const checked = checkServerEvent(event, payload);
    if (typeof checked === 'string') {
      const failure = parseServerEvent(event, payload) as { code: 'invalid_payload'; message: string };
      this._emit('protocol_error', { code: failure.code, message: failure.message, frame: quote(frame) });
      // Remembered when it came next in order: if the event after it arrives, this one
      // is skipped rather than asked for again (the server would replay the same bytes).
      const seq = (payload as { seq?: unknown } | null)?.seq;
      if (seq === state.lastSeq + 1) session._badSeq = seq as number;
      return;
    }
    const p = checked as { seq: number; first_seq?: number; status?: string };
    let order = classifySeq(state.lastSeq, p);
    if (order === 'gap' && session._badSeq === state.lastSeq + 1 && (p.first_seq ?? p.seq) === session._badSeq + 1) {
      this._apply({ type: 'skip', seq: session._badSeq });
      order = 'apply';
    }
    if (order !== 'apply') {
      if (order === 'duplicate') return;
      if (order === 'overlap') {
        this._emit('protocol_error', {
          code: 'invalid_payload',
          message: `merged frame ${p.first_seq}..${p.seq} overlaps applied ${state.lastSeq}`,
          frame: quote(frame),
        });
      }
      // Events are missing (or a merged frame straddles what we have): ask for them again,
      // unless a rejoin in flight will replay everything after lastSeq anyway.
      if (session._channel.state !== 'joined') return;
      if (++session._gapRejoins > MAX_GAP_REJOINS_WITHOUT_PROGRESS) {
        return this._fail(session, 'protocol_error', `events after seq ${state.lastSeq} never came`, false);
      }
      this._log(`gap after ${state.lastSeq}: rejoin`);
      return session._channel.rejoin();
    }
    const steps = state.steps;
    if (applyEvent(state, event, p, this._env.now, this._pending)) this._version++;
    session._gapRejoins = 0;
    const terminal = event === 'response' && p.status !== 'ai_generated';
    if (terminal) {
      // Forgotten before anyone hears of the end, so no listener can resume a finished request.
      this._store?.clear();
      this._setResumable(null);
    } else this._persist(session, false);
    this._emitter.emit(event, p);
    // Handed to a `stream()` consumer synchronously, as it arrives.
    session._sink?.push({ type: event, payload: p } as StreamEvent);
    if (state.steps !== steps) this._emitSteps(steps);
    this._notifier.schedule();
    if (terminal) this._finish(session, p as unknown as ResponsePayload);
  }

  /** @internal */
  private _emitSteps(before: StreamState['steps']): void {
    const steps = this._state.steps;
    if (steps !== before) for (const step of steps) if (!before.includes(step)) this._emit('step', step);
  }

  /** A terminal response: nothing more will come, so close on purpose and forget the request. */
  /** @internal */
  private _finish(session: Session, response: ResponsePayload): void {
    // A listener may already have ended the session (disconnect() in a `response` listener).
    if (session._ended) return;
    if (this._session === session) this._session = null;
    const sink = session._sink;
    session._ended = true;
    this._clearRetry(session);
    for (const waiter of [...session._cancelWaiters]) waiter();
    session._channel.dispose(new ModelRiverError('not_connected', 'the request has ended'));
    const socket = session._socket;
    session._socket = null;
    socket?.close(1000, 'request finished');
    if (this._state.connectionState !== 'disconnected') {
      this._emit('disconnected', ConnectionReason.completed, this._setConnection('disconnected', ConnectionReason.completed));
    }
    this._notifier.flush();
    if (response.status === 'error') {
      this._emit('error', new ModelRiverError(response.error?.code ?? 'request_failed', response.error?.message ?? 'the request failed', { details: { response } }));
    }
    session._detachSink();
    sink?.end();
  }

  /** A failure that stops the request. `permanent`: retrying can never help, so the persisted request goes too. */
  /** @internal */
  private _fail(session: Session, code: ErrorCode | (string & {}), message: string, permanent: boolean): void {
    if (session._ended) return;
    const error = new ModelRiverError(code, message);
    session._stopped = true;
    this._endSession(session, error);
    // Kept in memory so reconnect() can try again later unless retrying is pointless.
    if (this._session === session) this._session = null;
    if (permanent) {
      this._store?.clear();
      this._setResumable(null);
    } else this._store?.flush();
    this._apply({ type: 'failed', code, message, at: this._env.now() });
    this._setConnection('error', code);
    this._notifier.flush();
    this._emit('error', error);
  }

  // ---------------------------------------------------------------- state

  /** About to change the state outside the per-event path: keep what was last delivered if nobody built it yet. */
  /** @internal */
  private _touch(): void {
    if (this._delivered === null && this._deliveredVersion === this._version) this._delivered = this.getState();
  }

  /** A state listener is being added: `previous` must exist for its first call. */
  /** @internal */
  private _listening(): void {
    this._touch();
    if (this._delivered === null) this._delivered = this.getState();
  }

  /** @internal */
  private _apply(action: StreamAction): void {
    this._touch();
    flushText(this._state, this._pending);
    if (applyAction(this._state, action)) this._version++;
  }

  /** @internal */
  private _setConnection(next: ConnectionState, reason: string): ConnectionTransition {
    const previous = this._state.connectionState;
    if (previous !== next) {
      this._apply({ type: 'connection', state: next });
      this._log(`${previous} -> ${next} (${reason})`);
      this._notifier.schedule();
    }
    return { previous, current: next, reason };
  }

  /** The resumable request as a record. */
  /** @internal */
  private _held(): PersistedRequest | null {
    const held = this._resumable;
    return held === null || 'savedAt' in held ? held : this._record(held);
  }

  /** @internal */
  private _setResumable(held: PersistedRequest | Session | null): void {
    this._resumable = held;
    const pending = this._store !== null && held !== null;
    if (this._state.hasPendingRequest !== pending) {
      this._apply({ type: 'pending', hasPendingRequest: pending });
      this._notifier.schedule();
    }
  }

  /** @internal */
  private _record(session: Session): PersistedRequest {
    const state = this._state;
    flushText(state, this._pending);
    const record: PersistedRequest = {
      channelId: session._channelId,
      resumeToken: session._token?._value ?? null,
      lastSeq: state.lastSeq,
      text: state.text,
      savedAt: this._env.now(),
    };
    if (session._websocketUrl !== undefined) record.websocketUrl = session._websocketUrl;
    if (session._websocketChannel !== undefined) record.websocketChannel = session._websocketChannel;
    if (state.toolCalls.length > 0) record.toolCalls = state.toolCalls;
    return record;
  }

  /** Keeps the session resumable; writes it now, or throttled (`now` false: per event, built only when written). */
  /** @internal */
  private _persist(session: Session, now: boolean): void {
    if (session._ended) return;
    if (this._resumable !== session || this._state.hasPendingRequest !== (this._store !== null)) this._setResumable(session);
    if (now) this._store?.save(session._record());
    else this._store?.saveSoon(session._record);
  }

  /** @internal */
  private _deliver(): void {
    if (this._deliveredVersion === this._version) return;
    this._deliveredVersion = this._version;
    const subscribers = this._subscribers;
    if (subscribers.length === 0 && this._emitter.listenerCount('state') === 0) {
      // Nobody to tell: skip building a snapshot for them (the per-token case with 'sync'); the
      // deferred modes deliver seldom, so they keep it and a later listener gets the exact `previous`.
      this._delivered = this._deferred ? this.getState() : null;
      return;
    }
    const previous = this._delivered as StreamState;
    const current = this.getState();
    this._delivered = current;
    this._emit('state', current, previous);
    for (const listener of subscribers) {
      try {
        listener(current, previous);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  /** Emits through the guards: a listener that throws is reported, not rethrown. */
  /** @internal */
  private _emit(event: string, a?: unknown, b?: unknown): void {
    this._emitter.emit(event, a, b);
  }

  /** @internal */
  private _log(...args: unknown[]): void {
    if (this._o.debug === true && typeof console !== 'undefined') console.debug('[modelriver]', ...args);
  }
}

// ------------------------------------------------------------------ helpers

function connectOptionsProblem(options: ConnectOptions | undefined): string | null {
  const o = (typeof options === 'object' && options !== null ? options : null) as Partial<ConnectOptions> | null;
  return o === null
    ? 'connect() needs {channelId, wsToken} from POST /v1/ai/async'
    : !nonEmpty(o.channelId)
      ? 'channelId is required: pass channel_id from POST /v1/ai/async'
      : !nonEmpty(o.wsToken)
        ? 'wsToken is required: pass ws_token from POST /v1/ai/async'
        : o.websocketUrl !== undefined && typeof o.websocketUrl !== 'string'
          ? 'websocketUrl must be a string'
          : o.websocketChannel !== undefined && typeof o.websocketChannel !== 'string'
            ? 'websocketChannel must be a string'
            : null;
}
