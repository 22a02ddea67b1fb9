/**
 * Client pushes (e.g. `cancel`) and the bounded buffer that holds them while the
 * channel is not joined. A push's timeout starts when it is created, not when it
 * is sent, so a caller is never left waiting on a link that does not come back;
 * every push that is given up on is reported through `_onDrop`.
 */
import { ModelRiverError, safeCall } from './errors.js';
import type { DropInfo, PushBufferOptions, Timers } from './types.js';

/** Default offline push buffer: 100 pushes, each failing after 10 s without a reply. */
export const DEFAULT_PUSH_BUFFER: Readonly<PushBufferOptions> = Object.freeze({ maxSize: 100, timeoutMs: 10_000 });

type OkCallback = (response: unknown) => void;
type ErrorCallback = (error: ModelRiverError) => void;

/**
 * One outgoing message awaiting its `phx_reply`. Callbacks registered after the
 * push settled are called at once, so late listeners never hang.
 *
 * @example
 * ```ts
 * channel.push('cancel', {})
 *   .receive('ok', () => console.log('cancel accepted'))
 *   .receive('error', (err) => console.warn(err.code)); // push_timeout, push_overflow, not_connected, request_failed
 * ```
 */
export class Push {
  declare readonly event: string;
  declare readonly payload: Record<string, unknown>;
  /** Set when the push is written to the socket (again on a resend). */
  declare ref: string | null;
  /** Stops the timeout; set by the buffer that armed it. */
  declare _stopTimer: () => void;
  declare private _callbacks: Array<[ok: boolean, callback: (value: never) => void]>;
  /** `[ok, response or error]` once settled. */
  declare private _outcome: [ok: boolean, value: unknown] | null;

  constructor(event: string, payload: Record<string, unknown>) {
    this.event = event;
    this.payload = payload;
    this.ref = this._outcome = null;
    this._callbacks = [];
    this._stopTimer = noop;
  }

  /** Whether the push got its reply or failed. */
  get _settled(): boolean {
    return this._outcome !== null;
  }

  /**
   * Registers a callback for the server's ok reply, or for any failure
   * (an error reply, a timeout, an overflow, a disconnect).
   *
   * @example
   * ```ts
   * push.receive('ok', (response) => console.log(response));
   * ```
   */
  receive(status: 'ok', callback: OkCallback): this;
  receive(status: 'error', callback: ErrorCallback): this;
  receive(status: 'ok' | 'error', callback: OkCallback | ErrorCallback): this {
    const ok = status === 'ok';
    const outcome = this._outcome;
    if (outcome === null) this._callbacks.push([ok, callback]);
    else if (outcome[0] === ok) safeCall(callback as (value: unknown) => void, outcome[1]);
    return this;
  }

  /**
   * A promise of the ok reply's response; rejects with the push's error.
   *
   * @example
   * ```ts
   * await channel.push('cancel', {}).promise();
   * ```
   */
  promise(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.receive('ok', resolve).receive('error', reject);
    });
  }

  /** @internal Settles once: with the reply's response (`ok`) or a `ModelRiverError`. */
  _settle(ok: boolean, value: unknown): void {
    if (this._outcome !== null) return;
    this._outcome = [ok, value];
    this._stopTimer();
    const callbacks = this._callbacks;
    this._callbacks = [];
    for (const [kind, callback] of callbacks) if (kind === ok) safeCall(callback as (value: unknown) => void, value);
  }
}

const noop = (): void => {};

/** Writes a push to the socket; returns the ref it was sent with, or null if it could not be sent. */
export type PushSender = (push: Push) => string | null;

/** Options of {@link PushBuffer}. */
export interface PushBufferConfig extends PushBufferOptions {
  timers: Timers;
  /** Called for every push given up on (overflow, timeout, disconnect). */
  _onDrop?: (info: DropInfo) => void;
}

/**
 * Holds pushes until they can be sent and until they are answered. Pushes made
 * while offline queue up to `maxSize`; more are refused with `push_overflow`.
 * In-flight pushes whose link dropped go back to the head of the queue and are
 * sent again after the next join (the one push the protocol has, `cancel`, is
 * idempotent), still bounded by their original timeout.
 *
 * @example
 * ```ts
 * const buffer = new PushBuffer({ maxSize: 100, timeoutMs: 10_000, timers, _onDrop: (i) => console.warn(i) });
 * const push = buffer.add('cancel', {}, joined ? send : null);
 * // later, once joined:
 * buffer._flush(send);
 * // on a phx_reply:
 * buffer.reply(ref, 'ok', {});
 * ```
 */
export class PushBuffer {
  declare private _config: PushBufferConfig;
  declare private _queue: Push[];
  declare private _inFlight: Map<string, Push>;

  constructor(config: PushBufferConfig) {
    this._config = config;
    this._queue = [];
    this._inFlight = new Map();
  }

  /** Pushes waiting to be sent. */
  get queued(): number {
    return this._queue.length;
  }

  /** Pushes sent and awaiting their reply. */
  get inFlight(): number {
    return this._inFlight.size;
  }

  /**
   * Creates a push and starts its timeout. With a `send` function it is sent at
   * once (if the send succeeds); otherwise it is queued, or refused when full.
   */
  add(event: string, payload: Record<string, unknown>, send: PushSender | null): Push {
    const { timers, timeoutMs, maxSize } = this._config;
    const push = new Push(event, payload);
    // Sent at once only when nothing waits before it: pushes keep their order.
    if (send === null || this._queue.length > 0 || !this._send(push, send)) {
      if (this._queue.length >= maxSize) {
        this._drop(push, 'overflow', new ModelRiverError('push_overflow', `push "${event}": ${maxSize} pushes already wait`));
        return push;
      }
      this._queue.push(push);
    }
    const timer = timers.setTimeout(() => {
      const index = this._queue.indexOf(push);
      if (index >= 0) this._queue.splice(index, 1);
      if (push.ref !== null) this._inFlight.delete(push.ref);
      this._drop(push, 'timeout', new ModelRiverError('push_timeout', `push "${event}": no reply in ${timeoutMs} ms`));
    }, timeoutMs);
    push._stopTimer = () => timers.clearTimeout(timer);
    return push;
  }

  /** Sends queued pushes in order; stops at the first that cannot be sent. */
  _flush(send: PushSender): void {
    while (this._queue.length > 0 && this._send(this._queue[0] as Push, send)) this._queue.shift();
  }

  /** Settles the in-flight push with this ref. Returns whether one matched. */
  reply(ref: string, status: string, response: unknown): boolean {
    const push = this._inFlight.get(ref);
    if (push === undefined) return false;
    this._inFlight.delete(ref);
    const reason = (response as { reason?: unknown } | null)?.reason;
    push._settle(
      status === 'ok',
      status === 'ok'
        ? response
        : new ModelRiverError('request_failed', `push "${push.event}" refused: ${typeof reason === 'string' ? reason : 'error'}`, { details: { response } }),
    );
    return true;
  }

  /** The link dropped: answers to in-flight pushes will never come, so they are sent again later. */
  _requeueInFlight(): void {
    const resend = [...this._inFlight.values()];
    this._inFlight.clear();
    for (const push of resend) push.ref = null;
    this._queue = resend.concat(this._queue);
  }

  /** Fails every queued and in-flight push (the request was disconnected or destroyed). */
  _dropAll(error: ModelRiverError): void {
    const all = [...this._inFlight.values(), ...this._queue];
    this._inFlight.clear();
    this._queue = [];
    for (const push of all) this._drop(push, 'disconnected', error);
  }

  private _send(push: Push, send: PushSender): boolean {
    let ref: string | null = null;
    try {
      ref = send(push);
    } catch {
      // A sender that throws could not send.
    }
    if (ref === null) return false;
    push.ref = ref;
    this._inFlight.set(ref, push);
    return true;
  }

  private _drop(push: Push, reason: DropInfo['reason'], error: ModelRiverError): void {
    if (push._settled) return;
    push._settle(false, error);
    safeCall(this._config._onDrop, { kind: 'push', event: push.event, reason });
  }
}
