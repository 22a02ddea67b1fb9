/**
 * `ModelRiverClient`, the facade: options, public methods and events. It owns the
 * state store, the app's listeners, at most one session and the page-lifecycle hook,
 * and lends each part only what it needs (`SessionHost`, `StreamHost`, `TokenHost`).
 * Each concept has its module:
 * - state-store.ts: the working state, `apply` (its only writer), snapshots, state listeners;
 * - session.ts: one request across links, its channel events (the per-token path), its end;
 * - reconnect-loop.ts: the links of a session, reconnect scheduling with backoff;
 * - gap-rejoin.ts: what an event's `seq` asks for (apply, drop, rejoin);
 * - resume-record.ts: what is resumable, when its record is written, the restore on construction;
 * - token-source.ts: which token the next link presents (ws_token, resume_token, getToken, backend);
 * - client-stream.ts: `stream()`'s wiring; client-options.ts: option validation.
 *
 * Members start with `_` so the published build can mangle them; those the other
 * modules use are not TS-`private` (they are `@internal`, stripped from the .d.ts).
 */
import EventEmitter from 'eventemitter3';
import { invalidOptions, readConnectOptions, resolveOptions } from './client-options.js';
import type { ResolvedOptions } from './client-options.js';
import { openStream } from './client-stream.js';
import { resolveEnv } from './env.js';
import type { ClientEnv } from './env.js';
import { ModelRiverError, reportListenerError } from './errors.js';
import type { EventStream } from './event-stream.js';
import { ConnectionReason } from './reconnect-loop.js';
import { openStore, ResumeRecord } from './resume-record.js';
import { Session } from './session.js';
import type { RequestAddress } from './session.js';
import { StateStore } from './state-store.js';
import type { PersistedRequest } from './storage.js';
import { fetchToken, hasTokenSource } from './token-source.js';
import type { LinkToken } from './token-source.js';
import type { ConnectOptions, ModelRiverClientOptions, ModelRiverEventMap, ModelRiverEventType, StreamState } from './types.js';

export { ConnectionReason, DEFAULT_BASE_URL } from './reconnect-loop.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, DEFAULT_STORAGE_KEY_PREFIX } from './resume-record.js';

type AnyListener = (a?: unknown, b?: unknown) => void;

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
  declare _store: StateStore;
  /** @internal */
  declare _resume: ResumeRecord;
  /** @internal */
  declare private _emitter: EventEmitter;
  /**
   * The guard registered with `_emitter` for each app listener, by event: a listener that throws is
   * reported and the others still run, and `off` finds what to remove. Also keeps listeners unique.
   */
  /** @internal */
  declare private _guards: Map<string, Map<AnyListener, AnyListener>>;
  /** @internal */
  declare _session: Session | null;
  /** @internal */
  declare private _stopLifecycle: (() => void) | null;
  /**
   * Kept in the .d.ts on purpose (not marked internal): one private member makes the class nominal,
   * so an object that merely has the same methods is not taken for a ModelRiverClient.
   */
  declare private _destroyed: boolean;

  constructor(options: ModelRiverClientOptions = {}) {
    const cfg = (this._cfg = resolveOptions(options));
    this._o = options;
    const env = (this._env = resolveEnv(options));
    const emitter = (this._emitter = new EventEmitter());
    this._guards = new Map();
    const store = (this._store = new StateStore(cfg._notify, env, emitter, env.now, (message) => this._log(message)));
    this._resume = new ResumeRecord(openStore(options, env, cfg._maxAgeMs), store, env.now);
    this._session = this._stopLifecycle = null;
    this._destroyed = false;
    this._resume._restore();
    store._settle();
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
    return this._store.getState();
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
    return this._store.subscribe(listener);
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
    if (event === 'state') this._store._listening();
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
      this._store.apply({ type: 'misuse', message: options });
      this._store._schedule();
      return this._emit('error', invalidOptions(options));
    }
    const token: LinkToken = { _value: options.wsToken, _via: 'ws_token' };
    const current = this._active();
    if (current !== null && current._channelId === options.channelId) {
      if (current._busy()) return this._log('already connected');
      // The same request, down or waiting to retry: the fresh token resumes it from lastSeq.
      return current._retryNow(token, options.websocketUrl);
    }
    // A request this client already holds text for (failed, or restored from storage) resumes too.
    const held = this._resume._record();
    this._start(options, token, held !== null && held.channelId === options.channelId ? held : undefined);
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
    this._store.apply({ type: 'reset' });
    this._store._flush();
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
      if (session._busy()) return false;
      session._retryNow();
      return true;
    }
    const record = this._resume._load();
    if (record === null) {
      this._log('nothing to resume');
      return false;
    }
    if (record.resumeToken === null && !hasTokenSource(this)) {
      this._log('no token source');
      return false;
    }
    this._start(record, record.resumeToken === null ? null : { _value: record.resumeToken, _via: 'resume_token' }, record);
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
    if (active?._busy()) return false;
    const record = active === null ? this._resume._load() : null;
    const channelId = active?._channelId ?? record?.channelId;
    if (channelId === undefined) return false;
    const outcome = await fetchToken(this, channelId);
    if (this._destroyed) return false;
    const session = this._active();
    if (outcome instanceof ModelRiverError) {
      // The channel is gone: the request can never resume, so it is not kept as pending either.
      if (session?._channelId === channelId) session._fail(outcome.code, outcome.message, true);
      else if (session === null && (this._resume._record() ?? record)?.channelId === channelId) this._resume._forget();
      return false;
    }
    if (!outcome) return false;
    if (session !== null && session._channelId === channelId) {
      if (session._busy()) return false;
      session._retryNow(outcome._token, outcome._url);
      return true;
    }
    const latest = this._resume._record() ?? record;
    if (latest === null || latest.channelId !== channelId) return false;
    const restored = outcome._url !== undefined ? { ...latest, websocketUrl: outcome._url } : latest;
    this._start(restored, outcome._token, restored);
    return true;
  }

  /**
   * Whether an unfinished request can be resumed (persisted, or held by this
   * instance). Always false with `persist: false`, as with the hosted SDK.
   *
   * @example
   * ```ts
   * if (client.hasPendingRequest()) client.reconnect();
   * ```
   */
  hasPendingRequest(): boolean {
    return this._resume._pending();
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
    return session._cancel();
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
   * instance cannot be used again. The persisted request is forgotten, unless
   * `keepPending` is true: then a request still under way stays persisted (written
   * now), so a new client, or the page after a reload, resumes it with `reconnect()`.
   * Framework bindings tear their client down that way when a component goes away.
   *
   * @example
   * ```ts
   * useEffect(() => () => client.destroy(), []);
   * onScopeDispose(() => client.destroy({ keepPending: true })); // a reload still resumes
   * ```
   */
  destroy(options?: { keepPending?: boolean }): void {
    if (this._destroyed) return;
    this._stop(new ModelRiverError('destroyed', 'the client was destroyed'), options?.keepPending);
    this._store.apply({ type: 'reset' });
    this._store._flush();
    this._destroyed = true;
    this._stopLifecycle?.();
    this._stopLifecycle = null;
    this._store._dispose();
    this._emitter.removeAllListeners();
    this._guards.clear();
  }

  // ---------------------------------------------------------------- sessions

  /** The session, unless there is none or it ended. */
  /** @internal */
  _active(): Session | null {
    const session = this._session;
    return session !== null && !session._isOver() ? session : null;
  }

  /**
   * Starts a request (ending the current one) and opens its first link. `restored`: the text already
   * held for it.
   */
  /** @internal */
  private _start(request: RequestAddress, token: LinkToken | null, restored: PersistedRequest | undefined): void {
    const previous = this._session;
    if (previous !== null) {
      this._session = null;
      previous._end(new ModelRiverError('cancelled', 'replaced by a new request'));
    }
    this._watchLifecycle();
    const session = (this._session = new Session(this, request, token));
    session._start(restored);
  }

  /** disconnect()'s work: end the session with `error`, forget the resume record. */
  /** @internal */
  private _stop(error: ModelRiverError, keepPending?: boolean): void {
    const session = this._session;
    if (session !== null) {
      this._session = null;
      session._end(error);
    }
    // Kept: a throttled write is done now (with everything received), and no timer outlives us.
    keepPending ? this._resume._flush(true) : this._resume._forget();
    const transition = this._store._setConnection('disconnected', 'manual');
    if (session !== null) this._emit('disconnected', 'manual', transition);
    this._store._flush();
  }

  /** @internal */
  _release(session: Session): void {
    if (this._session === session) this._session = null;
  }

  /**
   * Starts watching page lifecycle (once per client): a wake-up skips the backoff a retry is
   * waiting out; a page going away gets the throttled record written now, or a reload would
   * show only what the last write had.
   */
  /** @internal */
  private _watchLifecycle(): void {
    if (this._stopLifecycle !== null) return;
    try {
      this._stopLifecycle = this._env.lifecycle((reason) => {
        if (reason === 'hidden') return this._resume._flush();
        const session = this._active();
        // Only a retry that is waiting out its backoff is hurried; a live or stopped link is left alone.
        if (session?._phase !== 'waiting') return;
        this._log(`wake: ${reason}`);
        session._retryNow();
      });
    } catch (error) {
      reportListenerError(error);
      this._stopLifecycle = () => undefined;
    }
  }

  // ---------------------------------------------------------------- events

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
