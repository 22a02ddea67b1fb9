/**
 * `ModelRiverClient`, the facade: options, public methods, events and the state
 * snapshot. The work happens in modules named after their concept:
 * - session.ts: one request across links, its channel events (the per-token path), its end;
 * - connection.ts: the links of a session, reconnect scheduling, lifecycle wake;
 * - token-source.ts: which token the next link presents (ws_token, resume_token, getToken, backend);
 * - persistence.ts: the resumable record, throttled saves, restore on construction;
 * - client-stream.ts: `stream()`'s wiring; client-options.ts: option validation.
 * They compose the link (socket.ts), the channel (channel.ts), the event validator
 * (events.ts), the reducer (stream-state.ts), storage (storage.ts) and notifications
 * (notifier.ts).
 *
 * The state is a private working copy changed in place; the immutable snapshot
 * `getState()` returns is built only when somebody asks for it (and cached until the
 * next change), which is what keeps a token free of allocations.
 *
 * Members start with `_` so the published build can mangle them; those the concept
 * modules use are not TS-`private` (they are `@internal`, stripped from the .d.ts).
 */
import EventEmitter from 'eventemitter3';
import { invalidOptions, readConnectOptions, resolveOptions } from './client-options.js';
import type { ResolvedOptions } from './client-options.js';
import { openStream } from './client-stream.js';
import { ConnectionReason, retryNow } from './connection.js';
import { resolveEnv } from './env.js';
import type { ClientEnv } from './env.js';
import { ModelRiverError, reportListenerError } from './errors.js';
import type { EventStream } from './event-stream.js';
import { createNotifier } from './notifier.js';
import type { Notifier } from './notifier.js';
import { heldRecord, openStore, restore, setResumable } from './persistence.js';
import { ClientEvent } from './protocol.js';
import { failSession, resumeSession, startSession, stopSession } from './session.js';
import type { Session } from './session.js';
import type { PersistedRequest, RequestStore } from './storage.js';
import { applyAction, flushText, initialStreamState, isTerminalStatus, snapshotOf } from './stream-state.js';
import type { StreamAction } from './stream-state.js';
import { fetchToken, hasTokenSource } from './token-source.js';
import type { LinkToken } from './token-source.js';
import type {
  ConnectionState,
  ConnectionTransition,
  ConnectOptions,
  ModelRiverClientOptions,
  ModelRiverEventMap,
  ModelRiverEventType,
  StreamState,
} from './types.js';

export { ConnectionReason, DEFAULT_BASE_URL } from './connection.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STORAGE_KEY_PREFIX } from './persistence.js';

type AnyListener = (a?: unknown, b?: unknown) => void;
type StateListener = (state: StreamState, previous: StreamState) => void;

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
 * client.connect(ack); // {channel_id, ws_token, websocket_url, websocket_channel}, or camelCase
 * ```
 */
export class ModelRiverClient {
  /** @internal */
  declare _o: ModelRiverClientOptions;
  /** @internal */
  declare _env: ClientEnv;
  /** @internal */
  declare _cfg: ResolvedOptions;
  /** @internal */
  declare _store: RequestStore | null;
  /** @internal */
  declare _emitter: EventEmitter;
  /**
   * The guard registered with `_emitter` for each app listener, by event: a listener that throws is
   * reported and the others still run, and `off` finds what to remove. Also keeps listeners unique.
   */
  /** @internal */
  declare private _guards: Map<string, Map<AnyListener, AnyListener>>;
  /** @internal */
  declare private _subscribers: StateListener[];
  /** @internal */
  declare _notifier: Notifier;
  /** `notify` is not 'sync'. */
  /** @internal */
  declare private _deferred: boolean;
  /** The working copy of the state, changed in place. */
  /** @internal */
  declare _state: StreamState;
  /** Token deltas not yet joined into `_state.text` (see `flushText`). */
  /** @internal */
  declare _pending: string[];
  /** Bumped on every change of `_state`. */
  /** @internal */
  declare _version: number;
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
  declare _session: Session | null;
  /** The latest resumable request: a record, or a live session the record is built from when needed (works with `persist: false` too). */
  /** @internal */
  declare _resumable: PersistedRequest | Session | null;
  /** @internal */
  declare _stopLifecycle: (() => void) | null;
  /**
   * Kept in the .d.ts on purpose (not marked internal): one private member makes the class nominal,
   * so an object that merely has the same methods is not taken for a ModelRiverClient.
   */
  declare private _destroyed: boolean;

  constructor(options: ModelRiverClientOptions = {}) {
    const cfg = (this._cfg = resolveOptions(options));
    this._o = options;
    const env = (this._env = resolveEnv(options));
    this._store = openStore(options, env, cfg._maxAgeMs);
    this._notifier = createNotifier(cfg._notify, env, () => this._deliver());
    this._deferred = cfg._notify !== 'sync';
    this._emitter = new EventEmitter();
    this._guards = new Map();
    this._subscribers = [];
    this._state = initialStreamState();
    this._pending = [];
    this._version = this._snapshotVersion = this._deliveredVersion = 0;
    this._session = this._stopLifecycle = this._resumable = null;
    this._destroyed = false;
    restore(this);
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
   * `POST /v1/ai/async`: the ack as is (`{channel_id, ws_token, websocket_url,
   * websocket_channel}`) or the same fields in camelCase. The token is used for the
   * first link only. Calling it
   * again for the request already connected does nothing; for the same request while
   * its link is down (or after a failure, or restored from storage) it resumes from the
   * text already held with the new token; for another request it replaces the current one. Missing `channelId`/`wsToken` emit an `error` with
   * code `invalid_options` (as the hosted SDK did) instead of throwing, and show in the state
   * (`status: 'error'` unless a request is under way, `errorCode`, `error`). Throws `destroyed`
   * after `destroy()`.
   *
   * @example
   * ```ts
   * client.connect(ack); // or { channelId, wsToken, websocketUrl, websocketChannel }
   * ```
   */
  connect(ack: ConnectOptions): void {
    if (this._destroyed) throw new ModelRiverError('destroyed', 'connect() after destroy(): create a new client');
    const options = readConnectOptions(ack);
    if (typeof options === 'string') {
      // Shown in the state too, for apps without an `error` listener; but a misuse must not end
      // a request that is streaming (or a restored one waiting for reconnect()).
      this._touch();
      const state = this._state;
      if (state.status === 'idle' || isTerminalStatus(state.status)) {
        state.status = 'error';
        state.isCompleted = false;
      }
      state.error = options;
      state.errorCode = 'invalid_options';
      this._version++;
      this._notifier.schedule();
      return this._emit('error', invalidOptions(options));
    }
    const token: LinkToken = { _value: options.wsToken, _via: 'ws_token' };
    const current = this._session;
    if (current !== null && !current._ended && current._channelId === options.channelId) {
      if (current._socket !== null || current._acquiring) return this._log('already connected');
      // The same request, down or waiting to retry: the fresh token resumes it from lastSeq.
      if (options.websocketUrl !== undefined) current._websocketUrl = options.websocketUrl;
      return retryNow(this, current, token);
    }
    // A request this client already holds text for (failed, or restored from storage) resumes too.
    const held = heldRecord(this);
    startSession(
      this,
      options.channelId,
      options.websocketUrl,
      options.websocketChannel,
      token,
      held !== null && held.channelId === options.channelId ? held : undefined,
    );
  }

  /**
   * Stops the active request: closes the link, fails pending pushes, and forgets
   * the persisted request (as the hosted SDK did), so `hasPendingRequest()` is
   * false afterwards. The state (text, steps) is kept until `reset()`.
   *
   * @example
   * ```ts
   * stopButton.onclick = () => client.disconnect();
   * ```
   */
  disconnect(): void {
    stopSession(this, new ModelRiverError('cancelled', 'disconnect() was called'));
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
      retryNow(this, session, session._token);
      return true;
    }
    const record = heldRecord(this) ?? this._store?.load() ?? null;
    if (record === null) {
      this._log('nothing to resume');
      return false;
    }
    if (record.resumeToken === null && !hasTokenSource(this)) {
      this._log('no token source');
      return false;
    }
    resumeSession(this, record, record.resumeToken === null ? null : { _value: record.resumeToken, _via: 'resume_token' });
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
    const record = active === null ? (heldRecord(this) ?? this._store?.load() ?? null) : null;
    const channelId = active?._channelId ?? record?.channelId;
    if (channelId === undefined) return false;
    const outcome = await fetchToken(this, channelId);
    if (this._destroyed) return false;
    const session = this._active();
    if (outcome instanceof ModelRiverError) {
      // The channel is gone: the request can never resume, so it is not kept as pending either.
      if (session?._channelId === channelId) failSession(this, session, outcome.code, outcome.message, true);
      else if (session === null && (heldRecord(this) ?? record)?.channelId === channelId) {
        this._store?.clear();
        setResumable(this, null);
      }
      return false;
    }
    if (!outcome) return false;
    if (session !== null && session._channelId === channelId) {
      if (session._socket !== null) return false;
      if (outcome._url !== undefined) session._websocketUrl = outcome._url;
      retryNow(this, session, outcome._token);
      return true;
    }
    const latest = heldRecord(this) ?? record;
    if (latest === null || latest.channelId !== channelId) return false;
    resumeSession(this, outcome._url !== undefined ? { ...latest, websocketUrl: outcome._url } : latest, outcome._token);
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
    if (record !== null) setResumable(this, record);
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
      // Ended, or its final response is being delivered (a `response` listener calling cancel()).
      if (session._ended || isTerminalStatus(this._state.status)) return resolve();
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
   * throw a `ModelRiverError` with code `cancelled` and `isAbort: true` (its `cause`
   * is the signal's `reason`).
   * Throws `invalid_options` at once for missing `channelId`/`wsToken`. Calling it
   * again for the request it streams returns a stream fed from then on (its
   * `finalText()` is still the whole text); the earlier stream ends as after a
   * `break`, except that the request goes on.
   *
   * @example
   * ```ts
   * const stream = client.stream(ack, { signal });
   * try {
   *   for await (const event of stream) {
   *     if (event.type === 'tokens') process.stdout.write(event.payload.delta);
   *   }
   *   const final = await stream.finalResponse();
   * } catch (err) {
   *   if (!(err instanceof ModelRiverError && err.isAbort)) throw err;
   * }
   * ```
   */
  stream(ack: ConnectOptions, streamOptions: { signal?: AbortSignal } = {}): EventStream {
    if (this._destroyed) throw new ModelRiverError('destroyed', 'stream() after destroy()');
    const options = readConnectOptions(ack);
    if (typeof options === 'string') throw invalidOptions(options);
    return openStream(this, options, streamOptions.signal);
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
    stopSession(this, new ModelRiverError('destroyed', 'the client was destroyed'));
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

  /** The session, unless there is none or it ended. */
  /** @internal */
  _active(): Session | null {
    const session = this._session;
    return session !== null && !session._ended ? session : null;
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
  _apply(action: StreamAction): void {
    this._touch();
    flushText(this._state, this._pending);
    if (applyAction(this._state, action)) this._version++;
  }

  /** @internal */
  _setConnection(next: ConnectionState, reason: string): ConnectionTransition {
    const previous = this._state.connectionState;
    if (previous !== next) {
      this._apply({ type: 'connection', state: next });
      this._log(`${previous} -> ${next} (${reason})`);
      this._notifier.schedule();
    }
    return { previous, current: next, reason };
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
  _emit(event: string, a?: unknown, b?: unknown): void {
    this._emitter.emit(event, a, b);
  }

  /** @internal */
  _log(...args: unknown[]): void {
    if (this._o.debug === true && typeof console !== 'undefined') console.debug('[modelriver]', ...args);
  }
}
