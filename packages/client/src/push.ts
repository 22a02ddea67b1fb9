/**
 * Client pushes (e.g. `cancel`) and the bounded buffer that holds them while the
 * channel is not joined. A push's timeout starts when it is created, not when it
 * is sent, so a caller is never left waiting on a link that does not come back;
 * every push that is given up on is reported through `onDrop`.
 */
import { ModelRiverError, reportListenerError } from './errors.js';
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
  readonly event: string;
  readonly payload: Record<string, unknown>;
  /** Set when the push is written to the socket (again on a resend). */
  ref: string | null = null;
  private okCallbacks: OkCallback[] = [];
  private errorCallbacks: ErrorCallback[] = [];
  private outcome: { ok: true; response: unknown } | { ok: false; error: ModelRiverError } | null = null;
  private timer: unknown = null;
  private timers: Timers | null = null;

  constructor(event: string, payload: Record<string, unknown>) {
    this.event = event;
    this.payload = payload;
  }

  /** Whether the push got its reply or failed. */
  get settled(): boolean {
    return this.outcome !== null;
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
    const outcome = this.outcome;
    if (status === 'ok') {
      if (outcome === null) this.okCallbacks.push(callback as OkCallback);
      else if (outcome.ok) safeCall(() => (callback as OkCallback)(outcome.response));
    } else {
      if (outcome === null) this.errorCallbacks.push(callback as ErrorCallback);
      else if (!outcome.ok) safeCall(() => (callback as ErrorCallback)(outcome.error));
    }
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

  /** @internal Starts the timeout (once). */
  startTimeout(timers: Timers, ms: number, onTimeout: () => void): void {
    if (this.timer !== null || this.settled) return;
    this.timers = timers;
    this.timer = timers.setTimeout(() => {
      this.timer = null;
      onTimeout();
    }, ms);
  }

  /** @internal */
  resolve(response: unknown): void {
    if (this.outcome !== null) return;
    this.outcome = { ok: true, response };
    this.clearTimer();
    const callbacks = this.okCallbacks;
    this.okCallbacks = [];
    this.errorCallbacks = [];
    for (const callback of callbacks) safeCall(() => callback(response));
  }

  /** @internal */
  reject(error: ModelRiverError): void {
    if (this.outcome !== null) return;
    this.outcome = { ok: false, error };
    this.clearTimer();
    const callbacks = this.errorCallbacks;
    this.okCallbacks = [];
    this.errorCallbacks = [];
    for (const callback of callbacks) safeCall(() => callback(error));
  }

  private clearTimer(): void {
    if (this.timer !== null && this.timers !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Writes a push to the socket; returns the ref it was sent with, or null if it could not be sent. */
export type PushSender = (push: Push) => string | null;

/** Options of {@link PushBuffer}. */
export interface PushBufferConfig extends PushBufferOptions {
  timers: Timers;
  /** Called for every push given up on (overflow, timeout, disconnect). */
  onDrop?: (info: DropInfo) => void;
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
 * const buffer = new PushBuffer({ maxSize: 100, timeoutMs: 10_000, timers, onDrop: (i) => console.warn(i) });
 * const push = buffer.add('cancel', {}, joined ? send : null);
 * // later, once joined:
 * buffer.flush(send);
 * // on a phx_reply:
 * buffer.reply(ref, 'ok', {});
 * ```
 */
export class PushBuffer {
  private readonly config: PushBufferConfig;
  private queue: Push[] = [];
  private readonly inFlightByRef = new Map<string, Push>();

  constructor(config: PushBufferConfig) {
    this.config = config;
  }

  /** Pushes waiting to be sent. */
  get queued(): number {
    return this.queue.length;
  }

  /** Pushes sent and awaiting their reply. */
  get inFlight(): number {
    return this.inFlightByRef.size;
  }

  /**
   * Creates a push and starts its timeout. With a `send` function it is sent at
   * once (if the send succeeds); otherwise it is queued, or refused when full.
   */
  add(event: string, payload: Record<string, unknown>, send: PushSender | null): Push {
    const push = new Push(event, payload);
    if (send !== null && this.queue.length === 0 && this.trySend(push, send)) {
      this.arm(push);
      return push;
    }
    if (this.queue.length >= this.config.maxSize) {
      this.drop(push, 'overflow', new ModelRiverError('push_overflow', `push "${event}" refused: ${this.config.maxSize} pushes are already waiting for the connection`));
      return push;
    }
    this.queue.push(push);
    this.arm(push);
    return push;
  }

  /** Sends queued pushes in order; stops at the first that cannot be sent. */
  flush(send: PushSender): void {
    while (this.queue.length > 0) {
      const push = this.queue[0] as Push;
      if (!this.trySend(push, send)) return;
      this.queue.shift();
    }
  }

  /** Settles the in-flight push with this ref. Returns whether one matched. */
  reply(ref: string, status: string, response: unknown): boolean {
    const push = this.inFlightByRef.get(ref);
    if (push === undefined) return false;
    this.inFlightByRef.delete(ref);
    if (status === 'ok') push.resolve(response);
    else push.reject(new ModelRiverError('request_failed', `push "${push.event}" was refused: ${describeReason(response)}`, { details: { response } }));
    return true;
  }

  /** The link dropped: answers to in-flight pushes will never come, so they are sent again later. */
  requeueInFlight(): void {
    if (this.inFlightByRef.size === 0) return;
    const resend = [...this.inFlightByRef.values()];
    this.inFlightByRef.clear();
    for (const push of resend) push.ref = null;
    this.queue = resend.concat(this.queue);
  }

  /** Fails every queued and in-flight push (the request was disconnected or destroyed). */
  dropAll(error: ModelRiverError): void {
    const all = [...this.inFlightByRef.values(), ...this.queue];
    this.inFlightByRef.clear();
    this.queue = [];
    for (const push of all) this.drop(push, 'disconnected', error);
  }

  private trySend(push: Push, send: PushSender): boolean {
    let ref: string | null = null;
    try {
      ref = send(push);
    } catch {
      ref = null;
    }
    if (ref === null) return false;
    push.ref = ref;
    this.inFlightByRef.set(ref, push);
    return true;
  }

  private arm(push: Push): void {
    const { timers, timeoutMs } = this.config;
    push.startTimeout(timers, timeoutMs, () => {
      const index = this.queue.indexOf(push);
      if (index >= 0) this.queue.splice(index, 1);
      if (push.ref !== null) this.inFlightByRef.delete(push.ref);
      this.drop(push, 'timeout', new ModelRiverError('push_timeout', `push "${push.event}" got no reply within ${timeoutMs} ms`));
    });
  }

  private drop(push: Push, reason: DropInfo['reason'], error: ModelRiverError): void {
    if (push.settled) return;
    push.reject(error);
    const onDrop = this.config.onDrop;
    if (onDrop !== undefined) safeCall(() => onDrop({ kind: 'push', event: push.event, reason }));
  }
}

function describeReason(response: unknown): string {
  if (typeof response === 'object' && response !== null) {
    const reason = (response as { reason?: unknown }).reason;
    if (typeof reason === 'string') return reason;
  }
  return 'error reply';
}

function safeCall(fn: () => void): void {
  try {
    fn();
  } catch (error) {
    // A caller's callback must not break the transport; surface it like an event listener error.
    reportListenerError(error);
  }
}
