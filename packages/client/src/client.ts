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
import { parseServerEvent } from './events.js';
import { createNotifier } from './notifier.js';
import type { Notifier } from './notifier.js';
import { ClientEvent } from './protocol.js';
import type { Frame, ServerEvent } from './protocol.js';
import { DEFAULT_PUSH_BUFFER } from './push.js';
import { DEFAULT_MAX_FRAME_BYTES } from './serializer.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, Socket } from './socket.js';
import type { LinkClose } from './socket.js';
import { RequestStore } from './storage.js';
import type { PersistedRequest } from './storage.js';
import { classifySeq, initialStreamState, reduceStream } from './stream-state.js';
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
  NotifyMode,
  PushBufferOptions,
  StreamState,
  TokenGrant,
  ToolCallState,
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
  value: string;
  via: ConnectingInfo['via'];
}

type TokenOutcome = { kind: 'grant'; token: LinkToken; websocketUrl?: string } | { kind: 'none' } | { kind: 'transient' };

interface StreamSink {
  stream: EventStream;
  detach: () => void;
}

/** One request, across links. */
interface Session {
  readonly channelId: string;
  readonly topic: string;
  /** As given (persisted as given, so a reload resolves defaults the same way). */
  websocketUrl: string | undefined;
  readonly websocketChannel: string | undefined;
  readonly channel: Channel;
  /** The token the next link will present; null once consumed by an opened link. */
  token: LinkToken | null;
  socket: Socket | null;
  /** Consecutive failed links (reset after `minUptimeMs` up). */
  attempts: number;
  retryTimer: unknown;
  openedAt: number | null;
  everOpened: boolean;
  acquiring: boolean;
  /** Not retrying until `reconnect()` (reconnect: false, or a failure). */
  stopped: boolean;
  ended: boolean;
  /** Gap/overlap rejoins since the last applied event. */
  gapRejoins: number;
  sink: StreamSink | null;
  cancelWaiters: Set<() => void>;
}

/** Rejoins for missing events allowed without any progress before the server is deemed broken. */
const MAX_GAP_REJOINS_WITHOUT_PROGRESS = 10;

type AnyListener = (...args: never[]) => void;

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
  private readonly options: ModelRiverClientOptions;
  private readonly env: ClientEnv;
  private readonly reconnectPolicy: BackoffOptions | false;
  private readonly rejoinPolicy: BackoffOptions;
  private readonly pushBuffer: PushBufferOptions;
  private readonly heartbeatMs: number;
  private readonly joinTimeoutMs: number;
  private readonly maxFrameBytes: number;
  private readonly baseUrl: string;
  private readonly store: RequestStore | null;
  private readonly emitter = new EventEmitter<string>();
  private readonly wrapped = new Map<string, Map<AnyListener, (...args: unknown[]) => void>>();
  private readonly subscribers = new Set<(state: StreamState, previous: StreamState) => void>();
  private readonly notifier: Notifier;
  private state: StreamState = initialStreamState();
  private delivered: StreamState;
  private session: Session | null = null;
  /** The latest resumable record, mirrored in memory (works with `persist: false` too). */
  private resumable: PersistedRequest | null = null;
  private stopLifecycle: (() => void) | null = null;
  private destroyed = false;

  constructor(options: ModelRiverClientOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new ModelRiverError('invalid_options', 'ModelRiverClient options must be an object (or omitted)');
    }
    this.options = options;
    this.reconnectPolicy = options.reconnect === false ? false : resolveBackoff(options.reconnect, DEFAULT_RECONNECT, 'reconnect');
    this.rejoinPolicy = resolveBackoff(options.rejoin, DEFAULT_REJOIN, 'rejoin');
    this.pushBuffer = resolvePushBuffer(options.pushBuffer);
    this.heartbeatMs = positive(options.heartbeatInterval, DEFAULT_HEARTBEAT_INTERVAL_MS, 'heartbeatInterval');
    this.joinTimeoutMs = positive(options.joinTimeout, DEFAULT_JOIN_TIMEOUT_MS, 'joinTimeout');
    this.maxFrameBytes = positive(options.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES, 'maxFrameBytes');
    const requestTimeout = positive(options.requestTimeout, DEFAULT_REQUEST_TIMEOUT_MS, 'requestTimeout');
    checkNotify(options.notify);
    if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
      throw new ModelRiverError('invalid_options', 'WebSocket must be a WebSocket constructor (e.g. `import WebSocket from "ws"`)');
    }
    if (options.getToken !== undefined && typeof options.getToken !== 'function') {
      throw new ModelRiverError('invalid_options', 'getToken must be a function (channelId) => Promise<token | {wsToken} | null>');
    }
    this.baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
    this.env = resolveEnv(options);
    this.store =
      this.env.storage === null
        ? null
        : new RequestStore({
            storage: this.env.storage,
            prefix: options.storageKeyPrefix ?? DEFAULT_STORAGE_KEY_PREFIX,
            now: this.env.now,
            maxAgeMs: requestTimeout,
            timers: this.env.timers,
          });
    this.notifier = createNotifier(
      options.notify ?? 'sync',
      {
        timers: this.env.timers,
        queueMicrotask: this.env.queueMicrotask,
        requestAnimationFrame: this.env.requestAnimationFrame,
        cancelAnimationFrame: this.env.cancelAnimationFrame,
      },
      () => this.deliver(),
    );
    // A reload shows the text so far at once; resuming waits for reconnect().
    const record = this.store?.load() ?? null;
    if (record !== null) {
      this.resumable = record;
      this.state = reduceStream(this.state, {
        type: 'start',
        channelId: record.channelId,
        at: this.env.now(),
        restored: { text: record.text, lastSeq: record.lastSeq, ...(record.toolCalls ? { toolCalls: record.toolCalls } : {}) },
      });
      this.state = reduceStream(this.state, { type: 'pending', hasPendingRequest: true });
    }
    this.delivered = this.state;
  }

  // ---------------------------------------------------------------- public API

  /**
   * The current state snapshot (immutable; a new object on every change).
   *
   * @example
   * ```ts
   * const { text, status, isConnected } = client.getState();
   * ```
   */
  getState(): StreamState {
    return this.state;
  }

  /**
   * Calls `listener(state, previous)` on every delivered state change (batched per
   * the `notify` option). Returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const unsubscribe = client.subscribe((state) => render(state.text));
   * ```
   */
  subscribe(listener: (state: StreamState, previous: StreamState) => void): () => void {
    if (typeof listener !== 'function') throw new ModelRiverError('invalid_options', 'subscribe() needs a listener function');
    const entry = (state: StreamState, previous: StreamState): void => listener(state, previous);
    this.subscribers.add(entry);
    return () => {
      this.subscribers.delete(entry);
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
    let forEvent = this.wrapped.get(event);
    if (forEvent === undefined) {
      forEvent = new Map();
      this.wrapped.set(event, forEvent);
    }
    const key = listener as AnyListener;
    if (!forEvent.has(key)) {
      const wrapper = (...args: unknown[]): void => {
        try {
          (listener as (...a: unknown[]) => void)(...args);
        } catch (error) {
          reportListenerError(error);
        }
      };
      forEvent.set(key, wrapper);
      this.emitter.on(event, wrapper);
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
    const forEvent = this.wrapped.get(event);
    const wrapper = forEvent?.get(listener as AnyListener);
    if (forEvent === undefined || wrapper === undefined) return;
    forEvent.delete(listener as AnyListener);
    this.emitter.off(event, wrapper);
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
    if (this.destroyed) {
      this.log('connect() after destroy() is ignored');
      return;
    }
    const problem = connectOptionsProblem(options);
    if (problem !== null) {
      // Today's client only set `error` here: a misuse must not end a request that is streaming.
      this.state = { ...this.state, error: problem, errorCode: 'invalid_options' };
      this.notifier.schedule();
      this.emit('error', new ModelRiverError('invalid_options', problem));
      return;
    }
    const token: LinkToken = { value: options.wsToken, via: 'ws_token' };
    const current = this.session;
    if (current !== null && !current.ended && current.channelId === options.channelId) {
      if (current.socket !== null || current.acquiring) {
        this.log('connect() for the request already connected is ignored');
        return;
      }
      // The same request, down or waiting to retry: the fresh token resumes it from lastSeq.
      this.clearRetry(current);
      current.stopped = false;
      current.token = token;
      if (options.websocketUrl !== undefined) current.websocketUrl = options.websocketUrl;
      this.openLink(current);
      return;
    }
    // A request this client already holds text for (failed, or restored from storage) resumes too.
    const held = this.resumable;
    this.startSession({
      channelId: options.channelId,
      websocketUrl: options.websocketUrl,
      websocketChannel: options.websocketChannel,
      token,
      restored:
        held !== null && held.channelId === options.channelId
          ? { text: held.text, lastSeq: held.lastSeq, ...(held.toolCalls !== undefined ? { toolCalls: held.toolCalls } : {}) }
          : null,
    });
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
    this.stop(new ModelRiverError('cancelled', 'disconnect() was called'));
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
    this.dispatch({ type: 'reset' });
    this.notifier.flush();
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
    if (this.destroyed) return false;
    const session = this.session;
    if (session !== null && !session.ended) {
      if (session.socket !== null || session.acquiring) return false;
      this.clearRetry(session);
      session.stopped = false;
      this.openLink(session);
      return true;
    }
    const record = this.resumable ?? this.store?.load() ?? null;
    if (record === null) {
      this.log('reconnect(): no unfinished request to resume');
      return false;
    }
    if (record.resumeToken === null && !this.hasTokenSource()) {
      this.log('reconnect(): no resume token, getToken or apiBaseUrl to get a token with');
      return false;
    }
    this.resumeRecord(record, record.resumeToken === null ? null : { value: record.resumeToken, via: 'resume_token' });
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
    if (this.destroyed) return false;
    const active = this.session !== null && !this.session.ended ? this.session : null;
    // A link that is up (or being set up) needs no token: do not spend one.
    if (active !== null && (active.socket !== null || active.acquiring)) return false;
    const record = active === null ? (this.resumable ?? this.store?.load() ?? null) : null;
    const channelId = active?.channelId ?? record?.channelId;
    if (channelId === undefined) return false;
    const outcome = await this.fetchBackendToken(channelId);
    if (outcome.kind !== 'grant' || this.destroyed) return false;
    const session = this.session;
    if (session !== null && !session.ended && session.channelId === channelId) {
      if (session.socket !== null) return false;
      this.clearRetry(session);
      session.stopped = false;
      session.token = outcome.token;
      if (outcome.websocketUrl !== undefined) session.websocketUrl = outcome.websocketUrl;
      this.openLink(session);
      return true;
    }
    const latest = this.resumable ?? record;
    if (latest === null || latest.channelId !== channelId) return false;
    this.resumeRecord(
      outcome.websocketUrl !== undefined ? { ...latest, websocketUrl: outcome.websocketUrl } : latest,
      outcome.token,
    );
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
    if (this.store === null) return false;
    if (this.resumable !== null) return true;
    const record = this.store.load();
    if (record !== null) this.setResumable(record);
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
    if (this.destroyed) return Promise.reject(new ModelRiverError('destroyed', 'cancel() after destroy()'));
    const session = this.session;
    if (session === null) {
      return Promise.reject(new ModelRiverError('not_connected', 'cancel() needs an active request: call connect() first'));
    }
    if (session.ended) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        session.cancelWaiters.delete(done);
        resolve();
      };
      session.cancelWaiters.add(done);
      session.channel
        .push(ClientEvent.cancel, {})
        .receive('ok', done)
        .receive('error', (error) => {
          session.cancelWaiters.delete(done);
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
    if (this.destroyed) throw new ModelRiverError('destroyed', 'stream() after destroy(): create a new client');
    const problem = connectOptionsProblem(options);
    if (problem !== null) throw new ModelRiverError('invalid_options', problem);
    const signal = streamOptions.signal;
    const stream = new EventStream();
    if (signal?.aborted) {
      stream.fail(abortError());
      return stream;
    }
    this.connect(options);
    const session = this.session;
    if (session === null || session.ended) {
      stream.fail(new ModelRiverError('not_connected', 'the request could not start'));
      return stream;
    }
    session.sink?.detach();
    const onAbort = (): void => {
      if (this.session === session && !session.ended) this.cancel().catch(() => undefined);
      sink.detach();
      stream.fail(abortError());
    };
    const sink: StreamSink = {
      stream,
      detach: () => {
        if (session.sink === sink) session.sink = null;
        signal?.removeEventListener('abort', onAbort);
      },
    };
    session.sink = sink;
    signal?.addEventListener('abort', onAbort, { once: true });
    stream.onReturn = () => {
      sink.detach();
      if (this.session === session && !session.ended) this.disconnect();
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
    if (this.destroyed) return;
    this.stop(new ModelRiverError('destroyed', 'the client was destroyed'));
    this.dispatch({ type: 'reset' });
    this.notifier.flush();
    this.destroyed = true;
    this.stopLifecycle?.();
    this.stopLifecycle = null;
    this.notifier.dispose();
    this.emitter.removeAllListeners();
    this.wrapped.clear();
    this.subscribers.clear();
  }

  /** disconnect()'s work: end the session with `error`, forget the persisted request. */
  private stop(error: ModelRiverError): void {
    const session = this.session;
    if (session !== null) {
      this.session = null;
      this.endSession(session, error);
    }
    this.store?.clear();
    this.setResumable(null);
    const transition = this.setConnection('disconnected', ConnectionReason.manual);
    if (session !== null) this.emit('disconnected', ConnectionReason.manual, transition);
    this.notifier.flush();
  }

  // ---------------------------------------------------------------- sessions

  private startSession(init: {
    channelId: string;
    websocketUrl: string | undefined;
    websocketChannel: string | undefined;
    token: LinkToken | null;
    restored: { text: string; lastSeq: number; toolCalls?: ToolCallState[] } | null;
  }): void {
    const previous = this.session;
    if (previous !== null) {
      this.session = null;
      this.endSession(previous, new ModelRiverError('cancelled', 'replaced by a new request'));
    }
    this.watchLifecycle();
    const topic = init.websocketChannel ?? `ai_response:${init.channelId}`;
    // Assigned before the channel exists: its handlers close over it.
    let session!: Session;
    const channel = new Channel({
      topic,
      timers: this.env.timers,
      random: this.env.random,
      joinTimeoutMs: this.joinTimeoutMs,
      rejoin: this.rejoinPolicy,
      pushBuffer: this.pushBuffer,
      handlers: {
        joinPayload: () => ({ last_seq: this.state.lastSeq }),
        onJoined: (result) => this.handleJoined(session, result),
        onJoinRefused: (code, reason) => {
          this.emit('channel_error', reason);
          this.fail(session, code, `join refused: ${reason}`, true);
        },
        onJoinFailed: (attempts, reason) =>
          this.fail(session, 'join_failed', `the join failed ${attempts + 1} times (last: ${reason}); giving up`, false),
        onChannelError: (reason) => this.emit('channel_error', reason),
        onEvent: (event, payload, frame) => this.handleEvent(session, event, payload, frame),
        onProtocolError: (info) => this.emit('protocol_error', info),
        onDrop: (info) => this.emit('dropped', info),
      },
    });
    session = {
      channelId: init.channelId,
      topic,
      websocketUrl: init.websocketUrl,
      websocketChannel: init.websocketChannel,
      channel,
      token: init.token,
      socket: null,
      attempts: 0,
      retryTimer: null,
      openedAt: null,
      everOpened: false,
      acquiring: false,
      stopped: false,
      ended: false,
      gapRejoins: 0,
      sink: null,
      cancelWaiters: new Set(),
    };
    this.session = session;
    this.dispatch({
      type: 'start',
      channelId: init.channelId,
      at: this.env.now(),
      ...(init.restored !== null ? { restored: init.restored } : {}),
    });
    this.persist(session, true);
    this.notifier.schedule();
    this.openLink(session);
  }

  private resumeRecord(record: PersistedRequest, token: LinkToken | null): void {
    this.startSession({
      channelId: record.channelId,
      websocketUrl: record.websocketUrl,
      websocketChannel: record.websocketChannel,
      token,
      restored: {
        text: record.text,
        lastSeq: record.lastSeq,
        ...(record.toolCalls !== undefined ? { toolCalls: record.toolCalls } : {}),
      },
    });
  }

  /** Stops everything a session runs. Does not touch persistence or the connection state. */
  private endSession(session: Session, error: ModelRiverError): void {
    session.ended = true;
    this.clearRetry(session);
    session.channel.dispose(error);
    const socket = session.socket;
    session.socket = null;
    socket?.close(1000, 'client disconnect');
    const sink = session.sink;
    if (sink !== null) {
      sink.detach();
      sink.stream.fail(error);
    }
  }

  // ---------------------------------------------------------------- links

  private openLink(session: Session): void {
    if (session !== this.session || session.ended || session.stopped || session.socket !== null) return;
    const token = session.token;
    if (token === null) {
      // Never an unhandled rejection: that would crash a Node process.
      this.acquireTokenAndOpen(session).catch(reportListenerError);
      return;
    }
    this.setConnection(session.everOpened ? 'reconnecting' : 'connecting', ConnectionReason.connect);
    this.emit('connecting', { attempt: session.attempts, via: token.via });
    if (session !== this.session || session.ended) return;
    const socket: Socket = new Socket({
      url: session.websocketUrl ?? this.baseUrl,
      token: token.value,
      WebSocket: this.env.resolveWebSocket(),
      timers: this.env.timers,
      heartbeatIntervalMs: this.heartbeatMs,
      maxFrameBytes: this.maxFrameBytes,
      handlers: {
        onOpen: () => {
          if (session.socket === socket) this.handleOpen(session, socket);
        },
        onFrame: (frame) => {
          if (session.socket === socket) session.channel.handleFrame(frame);
        },
        onProtocolError: (info) => {
          if (session.socket === socket) this.emit('protocol_error', info);
        },
        onClose: (info) => {
          if (session.socket === socket) this.handleLinkClosed(session, info);
        },
      },
    });
    session.socket = socket;
    try {
      socket.connect();
    } catch (error) {
      session.socket = null;
      const message = error instanceof Error ? error.message : String(error);
      this.fail(session, 'invalid_options', message, false);
    }
  }

  private handleOpen(session: Session, socket: Socket): void {
    // The token is spent the moment the upgrade is accepted.
    session.token = null;
    session.everOpened = true;
    session.openedAt = this.env.now();
    this.setConnection('connected', ConnectionReason.open);
    this.emit('connected');
    if (session.socket === socket && !session.ended) session.channel.attach(socket);
  }

  private handleLinkClosed(session: Session, info: LinkClose): void {
    session.socket = null;
    session.channel.detach();
    const policy = this.reconnectPolicy;
    if (session.openedAt !== null && policy !== false && this.env.now() - session.openedAt >= policy.minUptimeMs) {
      session.attempts = 0;
    }
    session.openedAt = null;
    const presented = session.token;
    if (!info.opened && presented !== null) {
      // A 4xx at the upgrade means the token was refused; anything else may be the
      // network, and then a resume token is still the best bet unless another source exists.
      const refused = info.httpStatus !== null && info.httpStatus >= 400 && info.httpStatus < 500;
      const unknown = info.httpStatus === null;
      if (refused || (unknown && this.hasTokenSource())) session.token = null;
    }
    this.persist(session, true);
    const reason = info.cause;
    if (policy === false && presented !== null && session.token === null && !info.opened && this.hasTokenSource() &&
        (presented.via === 'ws_token' || presented.via === 'resume_token')) {
      // Not a reconnection but the same attempt: the stored token was refused, so ask for a fresh one
      // once (a fresh token that is refused too stops here, so this cannot loop).
      this.acquireTokenAndOpen(session).catch(reportListenerError);
      return;
    }
    this.scheduleRetry(session, reason);
  }

  private scheduleRetry(session: Session, reason: string): void {
    const policy = this.reconnectPolicy;
    if (session.ended || session !== this.session) return;
    if (policy === false) {
      // No retries: wait for reconnect().
      session.stopped = true;
      const transition = this.setConnection('disconnected', reason);
      this.emit('disconnected', reason, transition);
      return;
    }
    session.attempts += 1;
    if (session.attempts > policy.maxAttempts) {
      const transition = this.setConnection('reconnecting', reason);
      this.emit('disconnected', reason, transition);
      this.fail(session, 'connection_failed', `gave up reconnecting after ${policy.maxAttempts} attempts (last: ${reason})`, false);
      return;
    }
    const transition = this.setConnection('reconnecting', reason);
    this.emit('disconnected', reason, transition);
    if (session.ended || session !== this.session) return;
    const delay = backoffDelay(session.attempts - 1, policy, this.env.random);
    this.log(`retrying in ${delay} ms (attempt ${session.attempts}, ${reason})`);
    this.clearRetry(session);
    session.retryTimer = this.env.timers.setTimeout(() => {
      session.retryTimer = null;
      try {
        this.openLink(session);
      } catch (error) {
        reportListenerError(error);
      }
    }, delay);
  }

  private clearRetry(session: Session): void {
    if (session.retryTimer !== null) this.env.timers.clearTimeout(session.retryTimer);
    session.retryTimer = null;
  }

  private watchLifecycle(): void {
    if (this.stopLifecycle !== null) return;
    try {
      this.stopLifecycle = this.env.lifecycle((reason) => {
        const session = this.session;
        // Only a retry that is waiting out its backoff is hurried; a live or stopped link is left alone.
        if (session === null || session.ended || session.retryTimer === null) return;
        this.log(`lifecycle wake (${reason}): retrying now`);
        this.clearRetry(session);
        this.openLink(session);
      });
    } catch (error) {
      reportListenerError(error);
      this.stopLifecycle = () => undefined;
    }
  }

  // ---------------------------------------------------------------- tokens

  private hasTokenSource(): boolean {
    return typeof this.options.getToken === 'function' || (isNonEmpty(this.options.apiBaseUrl) && this.env.fetch !== null);
  }

  private async acquireTokenAndOpen(session: Session): Promise<void> {
    if (session.acquiring) return;
    session.acquiring = true;
    this.setConnection(session.everOpened ? 'reconnecting' : 'connecting', ConnectionReason.connect);
    let outcome: TokenOutcome;
    try {
      outcome = await this.acquireToken(session.channelId);
    } finally {
      session.acquiring = false;
    }
    if (session !== this.session || session.ended || session.stopped) return;
    if (outcome.kind === 'grant') {
      session.token = outcome.token;
      if (outcome.websocketUrl !== undefined) session.websocketUrl = outcome.websocketUrl;
      this.persist(session, true);
      this.openLink(session);
    } else if (outcome.kind === 'transient') {
      this.scheduleRetry(session, ConnectionReason.tokenError);
    } else {
      this.fail(
        session,
        'token_unavailable',
        'no token to reconnect with: the resume token is spent or refused and neither getToken nor apiBaseUrl provided one',
        false,
      );
    }
  }

  private async acquireToken(channelId: string): Promise<TokenOutcome> {
    let transient = false;
    const getToken = this.options.getToken;
    if (typeof getToken === 'function') {
      try {
        const grant = normaliseGrant(await getToken(channelId));
        if (grant !== null) {
          return {
            kind: 'grant',
            token: { value: grant.wsToken, via: 'get_token' },
            ...(grant.websocketUrl !== undefined ? { websocketUrl: grant.websocketUrl } : {}),
          };
        }
      } catch (error) {
        this.log('getToken failed:', error);
        transient = true;
      }
    }
    if (isNonEmpty(this.options.apiBaseUrl) && this.env.fetch !== null) {
      const outcome = await this.fetchBackendToken(channelId);
      if (outcome.kind === 'grant') return outcome;
      if (outcome.kind === 'transient') transient = true;
    }
    return transient ? { kind: 'transient' } : { kind: 'none' };
  }

  private async fetchBackendToken(channelId: string): Promise<TokenOutcome> {
    const apiBaseUrl = this.options.apiBaseUrl;
    const fetchFn = this.env.fetch;
    if (!isNonEmpty(apiBaseUrl) || fetchFn === null) return { kind: 'none' };
    const url = `${apiBaseUrl.replace(/\/+$/, '')}/api/v1/ai/reconnect`;
    try {
      const response = await fetchFn(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel_id: channelId }),
      });
      if (!response.ok) {
        this.log(`backend reconnect answered HTTP ${response.status}`);
        // 4xx says this channel gets no token (except timeouts and rate limits, which pass).
        const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
        return permanent ? { kind: 'none' } : { kind: 'transient' };
      }
      const body: unknown = await response.json();
      const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
      const wsToken = record.ws_token;
      if (typeof wsToken !== 'string' || wsToken === '') {
        this.log('backend reconnect answer has no ws_token');
        return { kind: 'none' };
      }
      const websocketUrl = typeof record.websocket_url === 'string' && record.websocket_url !== '' ? record.websocket_url : undefined;
      return { kind: 'grant', token: { value: wsToken, via: 'backend' }, ...(websocketUrl !== undefined ? { websocketUrl } : {}) };
    } catch (error) {
      this.log('backend reconnect failed:', error);
      return { kind: 'transient' };
    }
  }

  // ---------------------------------------------------------------- channel events

  private handleJoined(session: Session, result: JoinResult): void {
    if (session !== this.session || session.ended) return;
    if (result.resumeToken !== null) session.token = { value: result.resumeToken, via: 'resume_token' };
    const resumed = this.state.lastSeq > 0;
    if (result.serverLastSeq !== null && result.serverLastSeq < this.state.lastSeq) {
      // Everything the server sends now will look like a duplicate: say so rather than stall silently.
      this.emit('protocol_error', {
        code: 'invalid_payload',
        message: `the server's last_seq (${result.serverLastSeq}) is behind the ${this.state.lastSeq} events already applied`,
        frame: '',
      });
    }
    const before = this.state;
    this.dispatch({ type: 'joined', at: this.env.now() });
    this.emitChangedSteps(before);
    // Written at once: the previous token is spent, and a reload must find the new one.
    this.persist(session, true);
    this.emit('channel_joined', { topic: session.topic, serverLastSeq: result.serverLastSeq ?? this.state.lastSeq, resumed });
    this.notifier.schedule();
  }

  private handleEvent(session: Session, event: string, payload: unknown, frame: Frame): void {
    if (session !== this.session || session.ended) return;
    const parsed = parseServerEvent(event, payload);
    if (!parsed.ok) {
      this.emit('protocol_error', { code: parsed.code, message: parsed.message, frame: quoteFrame(frame) });
      return;
    }
    const serverEvent = parsed.value;
    const order = classifySeq(this.state.lastSeq, serverEvent.payload);
    if (order === 'duplicate') return;
    if (order !== 'apply') {
      if (order === 'overlap') {
        this.emit('protocol_error', {
          code: 'invalid_payload',
          message: `merged ${event} frame covers seq ${String((serverEvent.payload as { first_seq?: number }).first_seq)}..${serverEvent.payload.seq} but ${this.state.lastSeq} is already applied`,
          frame: quoteFrame(frame),
        });
      }
      this.rejoinForMissing(session);
      return;
    }
    const before = this.state;
    this.dispatch({ type: 'event', event: serverEvent, at: this.env.now() });
    session.gapRejoins = 0;
    const terminal = serverEvent.event === 'response' && serverEvent.payload.status !== 'ai_generated';
    if (terminal) {
      // Forgotten before anyone hears of the end, so no listener can resume a finished request.
      this.store?.clear();
      this.setResumable(null);
    } else {
      this.persist(session, false);
    }
    this.emitServerEvent(session, serverEvent);
    this.emitChangedSteps(before);
    this.notifier.schedule();
    if (terminal && serverEvent.event === 'response') this.finish(session, serverEvent.payload);
  }

  /** Events are missing (or a merged frame straddles what we have): ask for them again. */
  private rejoinForMissing(session: Session): void {
    // A rejoin in flight will replay everything after lastSeq anyway.
    if (session.channel.state !== 'joined') return;
    session.gapRejoins += 1;
    if (session.gapRejoins > MAX_GAP_REJOINS_WITHOUT_PROGRESS) {
      this.fail(session, 'protocol_error', `the server keeps skipping events after seq ${this.state.lastSeq}`, false);
      return;
    }
    this.log(`events missing after seq ${this.state.lastSeq}: rejoining`);
    session.channel.rejoin();
  }

  /** Emits the wire event and hands it to a `stream()` consumer, synchronously as it arrives. */
  private emitServerEvent(session: Session, event: ServerEvent): void {
    const stream = session.sink?.stream;
    switch (event.event) {
      case 'tokens':
        this.emit('tokens', event.payload);
        stream?.push({ type: 'tokens', payload: event.payload });
        break;
      case 'status':
        this.emit('status', event.payload);
        stream?.push({ type: 'status', payload: event.payload });
        break;
      case 'tool_call':
        this.emit('tool_call', event.payload);
        stream?.push({ type: 'tool_call', payload: event.payload });
        break;
      case 'response':
        this.emit('response', event.payload);
        stream?.push({ type: 'response', payload: event.payload });
        break;
    }
  }

  private emitChangedSteps(before: StreamState): void {
    const steps = this.state.steps;
    if (steps === before.steps || this.emitter.listenerCount('step') === 0) return;
    for (const step of steps) {
      if (!before.steps.includes(step)) this.emit('step', step);
    }
  }

  /** A terminal response: nothing more will come, so close on purpose and forget the request. */
  private finish(session: Session, response: Extract<ServerEvent, { event: 'response' }>['payload']): void {
    // A listener may already have ended the session (disconnect() in a `response` listener).
    if (session.ended) return;
    if (this.session === session) this.session = null;
    const sink = session.sink;
    session.ended = true;
    this.clearRetry(session);
    for (const waiter of [...session.cancelWaiters]) waiter();
    session.channel.dispose(new ModelRiverError('not_connected', 'the request has ended'));
    const socket = session.socket;
    session.socket = null;
    socket?.close(1000, 'request finished');
    if (this.state.connectionState !== 'disconnected') {
      const transition = this.setConnection('disconnected', ConnectionReason.completed);
      this.emit('disconnected', ConnectionReason.completed, transition);
    }
    this.notifier.flush();
    if (response.status === 'error') {
      const code = response.error?.code ?? 'request_failed';
      this.emit('error', new ModelRiverError(code, response.error?.message ?? 'the request failed', { details: { response } }));
    }
    if (sink !== null) {
      sink.detach();
      sink.stream.end();
    }
  }

  /** A failure that stops the request. `permanent`: retrying can never help, so the persisted request goes too. */
  private fail(session: Session, code: ErrorCode | (string & {}), message: string, permanent: boolean): void {
    if (session.ended) return;
    const error = new ModelRiverError(code, message);
    session.stopped = true;
    this.endSession(session, error);
    // Kept in memory so reconnect() can try again later unless retrying is pointless.
    if (this.session === session) this.session = null;
    if (permanent) {
      this.store?.clear();
      this.setResumable(null);
    } else {
      this.store?.flush();
    }
    this.dispatch({ type: 'failed', code, message, at: this.env.now() });
    this.setConnection('error', code);
    this.notifier.flush();
    this.emit('error', error);
  }

  // ---------------------------------------------------------------- state

  private dispatch(action: StreamAction): void {
    this.state = reduceStream(this.state, action);
  }

  private setConnection(next: ConnectionState, reason: string): ConnectionTransition {
    const previous = this.state.connectionState;
    if (previous !== next) {
      this.dispatch({ type: 'connection', state: next });
      this.log(`connection ${previous} -> ${next} (${reason})`);
      this.notifier.schedule();
    }
    return { previous, current: next, reason };
  }

  private setResumable(record: PersistedRequest | null): void {
    this.resumable = record;
    const pending = this.store !== null && record !== null;
    if (this.state.hasPendingRequest !== pending) {
      this.dispatch({ type: 'pending', hasPendingRequest: pending });
      this.notifier.schedule();
    }
  }

  private persist(session: Session, now: boolean): void {
    if (session.ended) return;
    const state = this.state;
    const record: PersistedRequest = {
      channelId: session.channelId,
      ...(session.websocketUrl !== undefined ? { websocketUrl: session.websocketUrl } : {}),
      ...(session.websocketChannel !== undefined ? { websocketChannel: session.websocketChannel } : {}),
      resumeToken: session.token?.value ?? null,
      lastSeq: state.lastSeq,
      text: state.text,
      ...(state.toolCalls.length > 0 ? { toolCalls: state.toolCalls } : {}),
      savedAt: this.env.now(),
    };
    if (this.resumable === null || this.state.hasPendingRequest !== (this.store !== null)) this.setResumable(record);
    else this.resumable = record;
    if (this.store === null) return;
    if (now) this.store.save(record);
    else this.store.saveSoon(record);
  }

  private deliver(): void {
    const current = this.state;
    const previous = this.delivered;
    if (current === previous) return;
    this.delivered = current;
    this.emit('state', current, previous);
    for (const listener of [...this.subscribers]) {
      try {
        listener(current, previous);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }

  private emit<K extends ModelRiverEventType>(event: K, ...args: Parameters<ModelRiverEventMap[K]>): void {
    // Listeners are wrapped in on(), so a throwing listener cannot reach the socket handlers.
    this.emitter.emit(event, ...args);
  }

  private log(...args: unknown[]): void {
    if (this.options.debug === true && typeof console !== 'undefined') console.debug('[modelriver]', ...args);
  }
}

// ------------------------------------------------------------------ helpers

function connectOptionsProblem(options: ConnectOptions | undefined): string | null {
  if (typeof options !== 'object' || options === null) {
    return 'connect() needs {channelId, wsToken, websocketUrl?, websocketChannel?} from your backend\'s POST /v1/ai/async';
  }
  if (!isNonEmpty(options.channelId)) return 'channelId is required: pass the channel_id from POST /v1/ai/async';
  if (!isNonEmpty(options.wsToken)) return 'wsToken is required for WebSocket authentication: pass the ws_token from POST /v1/ai/async';
  if (options.websocketUrl !== undefined && typeof options.websocketUrl !== 'string') return 'websocketUrl must be a string such as "wss://host/socket"';
  if (options.websocketChannel !== undefined && typeof options.websocketChannel !== 'string') {
    return 'websocketChannel must be a string such as "ai_response:{project_id}:{channel_id}"';
  }
  return null;
}

function isNonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function normaliseGrant(value: TokenGrant | string | null | undefined): TokenGrant | null {
  if (typeof value === 'string') return value === '' ? null : { wsToken: value };
  if (typeof value === 'object' && value !== null && isNonEmpty(value.wsToken)) return value;
  return null;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0)) {
    throw new ModelRiverError('invalid_options', `${name} must be a number > 0 (milliseconds or bytes), got ${String(value)}`);
  }
  return value;
}

function resolvePushBuffer(options: Partial<PushBufferOptions> | undefined): PushBufferOptions {
  const maxSize = options?.maxSize ?? DEFAULT_PUSH_BUFFER.maxSize;
  const timeoutMs = options?.timeoutMs ?? DEFAULT_PUSH_BUFFER.timeoutMs;
  if (!Number.isInteger(maxSize) || maxSize < 0) {
    throw new ModelRiverError('invalid_options', `pushBuffer.maxSize must be an integer >= 0, got ${String(maxSize)}`);
  }
  if (typeof timeoutMs !== 'number' || !(timeoutMs > 0)) {
    throw new ModelRiverError('invalid_options', `pushBuffer.timeoutMs must be a number > 0, got ${String(timeoutMs)}`);
  }
  return { maxSize, timeoutMs };
}

function checkNotify(mode: NotifyMode | undefined): void {
  if (mode === undefined || mode === 'sync' || mode === 'microtask' || mode === 'animationFrame') return;
  if (typeof mode === 'object' && mode !== null && typeof mode.intervalMs === 'number' && mode.intervalMs > 0) return;
  throw new ModelRiverError('invalid_options', "notify must be 'sync', 'microtask', 'animationFrame' or {intervalMs > 0}");
}

function quoteFrame(frame: Frame): string {
  try {
    return JSON.stringify(frame).slice(0, 512);
  } catch {
    return '';
  }
}

function abortError(): ModelRiverError {
  return new ModelRiverError('cancelled', 'the stream was aborted', { name: 'AbortError' });
}
