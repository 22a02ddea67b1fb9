/**
 * The client's state: a private working copy changed in place by `apply`, its only
 * writer, and the immutable snapshot `getState()` returns, built only when somebody
 * asks for it (and cached until the next change), which is what keeps a token free
 * of allocations. Deliveries to state listeners go through the notifier (batched per
 * the `notify` option).
 *
 * Private members start with `_` so the published build can mangle them.
 */
import { reportListenerError } from './errors.js';
import { createNotifier } from './notifier.js';
import type { Notifier, NotifierEnv } from './notifier.js';
import { applyAction, applyEvent, flushText, initialStreamState, isTerminalStatus, snapshotOf } from './stream-state.js';
import type { StreamAction } from './stream-state.js';
import type { ConnectionState, ConnectionTransition, NotifyMode, StreamState } from './types.js';

/**
 * What `apply` accepts besides the reducer's actions: `connect()` called with what cannot start a
 * request (shown in the state without ending a request under way).
 */
export type StoreAction = StreamAction | { type: 'misuse'; message: string };

/** A validated server event's payload (the caller has checked its `seq`). */
export type EventPayload = { seq: number; first_seq?: number };

type StateListener = (state: StreamState, previous: StreamState) => void;

/** The `state` event's side of the facade's emitter. */
export interface StateEvents {
  listenerCount(event: 'state'): number;
  emit(event: 'state', current: StreamState, previous: StreamState): unknown;
}

/**
 * The working state, its snapshots and their delivery.
 *
 * @example
 * ```ts
 * const store = new StateStore('sync', { timers }, emitter, () => Date.now(), console.debug);
 * store.subscribe((state) => render(state.text));
 * store.apply({ type: 'start', channelId: 'c1', at: Date.now() });
 * store.apply('tokens', { seq: 1, delta: 'Hi' });
 * ```
 */
export class StateStore {
  /** The working copy: read it freely, change it only through `apply`. */
  declare readonly _state: StreamState;
  /** Token deltas not yet joined into `_state.text` (see `flushText`). */
  declare private _pending: string[];
  /** Bumped on every change of `_state`. */
  declare private _version: number;
  /** The latest snapshot, valid while `_snapshotVersion === _version`. */
  declare private _snapshot: StreamState;
  declare private _snapshotVersion: number;
  /** The snapshot last delivered; null while nobody listened (it was not worth building). */
  declare private _delivered: StreamState | null;
  declare private _deliveredVersion: number;
  declare private _subscribers: StateListener[];
  declare private _notifier: Notifier;
  /** `notify` is not 'sync'. */
  declare private _deferred: boolean;
  declare private _events: StateEvents;
  declare private _now: () => number;
  declare private _log: (message: string) => void;

  constructor(notify: NotifyMode, env: NotifierEnv, events: StateEvents, now: () => number, log: (message: string) => void) {
    this._state = initialStreamState();
    this._pending = [];
    this._version = this._snapshotVersion = this._deliveredVersion = 0;
    this._subscribers = [];
    this._notifier = createNotifier(notify, env, () => this._deliver());
    this._deferred = notify !== 'sync';
    this._events = events;
    this._now = now;
    this._log = log;
    this._settle();
  }

  /**
   * The only writer of the state: a reducer action (or a misuse of `connect()`), or a validated
   * server event as `(name, payload)`, which the per-token path passes without allocating an
   * action. Returns whether the state changed. Delivery is up to `_schedule()`/`_flush()`.
   */
  apply(action: StoreAction | string, payload?: EventPayload): boolean {
    const state = this._state;
    let changed: boolean;
    if (typeof action === 'string') {
      changed = applyEvent(state, action, payload as EventPayload, this._now, this._pending);
    } else {
      this._touch();
      flushText(state, this._pending);
      if (action.type === 'misuse') {
        if (state.status === 'idle' || isTerminalStatus(state.status)) {
          state.status = 'error';
          state.isCompleted = false;
        }
        state.error = action.message;
        state.errorCode = 'invalid_options';
        changed = true;
      } else changed = applyAction(state, action);
    }
    if (changed) this._version++;
    return changed;
  }

  /** The text so far (the pending deltas joined in). */
  _text(): string {
    flushText(this._state, this._pending);
    return this._state.text;
  }

  /** Sets the link state; returns the transition `{previous, current, reason}`. */
  _setConnection(next: ConnectionState, reason: string): ConnectionTransition {
    const previous = this._state.connectionState;
    if (previous !== next) {
      this.apply({ type: 'connection', state: next });
      this._log(`${previous} -> ${next} (${reason})`);
      this._notifier._schedule();
    }
    return { previous, current: next, reason };
  }

  /** What listeners see first is the state now (called again once a reload's text is restored). */
  _settle(): void {
    this._snapshot = snapshotOf(this._state);
    this._snapshotVersion = this._deliveredVersion = this._version;
    this._delivered = this._snapshot;
  }

  /**
   * The current snapshot: immutable, a new object after every change and the same object while
   * nothing changed.
   *
   * @example
   * ```ts
   * const { text, status } = store.getState();
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
   * Calls `listener(state, previous)` on every delivered change; returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const unsubscribe = store.subscribe((state, previous) => render(state, previous));
   * ```
   */
  subscribe(listener: StateListener): () => void {
    // A wrapper per call, so subscribing one function twice gives two independent subscriptions.
    const entry: StateListener = (state, previous) => listener(state, previous);
    this._listening();
    this._subscribers = [...this._subscribers, entry];
    return () => {
      this._subscribers = this._subscribers.filter((l) => l !== entry);
    };
  }

  /** A state listener is being added: `previous` must exist for its first call. */
  _listening(): void {
    if (this._delivered === null) this._delivered = this.getState();
  }

  /** Something changed: deliver according to the `notify` mode. */
  _schedule(): void {
    this._notifier._schedule();
  }

  /** Deliver a change still waiting for its batch now. */
  _flush(): void {
    this._notifier._flush();
  }

  /** No more deliveries, no more listeners. */
  _dispose(): void {
    this._notifier._dispose();
    this._subscribers = [];
  }

  /** About to change the state outside the per-event path: keep what was last delivered if nobody built it yet. */
  private _touch(): void {
    if (this._delivered === null && this._deliveredVersion === this._version) this._delivered = this.getState();
  }

  private _deliver(): void {
    if (this._deliveredVersion === this._version) return;
    this._deliveredVersion = this._version;
    const subscribers = this._subscribers;
    if (subscribers.length === 0 && this._events.listenerCount('state') === 0) {
      // Nobody to tell: skip building a snapshot for them (the per-token case with 'sync'); the
      // deferred modes deliver seldom, so they keep it and a later listener gets the exact `previous`.
      this._delivered = this._deferred ? this.getState() : null;
      return;
    }
    const previous = this._delivered as StreamState;
    const current = this.getState();
    this._delivered = current;
    this._events.emit('state', current, previous);
    for (const listener of subscribers) {
      try {
        listener(current, previous);
      } catch (error) {
        reportListenerError(error);
      }
    }
  }
}
