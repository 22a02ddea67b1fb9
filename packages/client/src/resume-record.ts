/**
 * The resume record: which request can be resumed (one restored from storage, or the
 * live one), the record written for it and when (at once when a token changes hands,
 * throttled per event), and the restore on construction that shows a reload the text
 * so far. It knows the `RequestStore` (storage.ts) and the state, never the client.
 *
 * Private members start with `_` so the published build can mangle them.
 */
import type { ClientEnv } from './env.js';
import type { StateStore } from './state-store.js';
import { RequestStore } from './storage.js';
import type { PersistedRequest } from './storage.js';
import type { ModelRiverClientOptions } from './types.js';

/** The hosted SDK's storage key prefix. */
export const DEFAULT_STORAGE_KEY_PREFIX = 'modelriver_';
/** A persisted request older than this (ms) is dropped. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

/** What a live request tells its record: everything but the text, which the state holds. */
export type LiveFields = Pick<PersistedRequest, 'channelId' | 'resumeToken' | 'websocketUrl' | 'websocketChannel'>;

/** A request under way; its record is built from it only when one is written. */
export interface LiveRequest {
  _fields(): LiveFields;
}

/**
 * The store for `options`, or null when persistence is off (`env.storage` null).
 *
 * @example
 * ```ts
 * const store = openStore({ storageKeyPrefix: 'app_' }, resolveEnv({}), DEFAULT_REQUEST_TIMEOUT_MS);
 * ```
 */
export function openStore(options: ModelRiverClientOptions, env: ClientEnv, maxAgeMs: number): RequestStore | null {
  return env.storage === null
    ? null
    : new RequestStore({ storage: env.storage, prefix: options.storageKeyPrefix ?? DEFAULT_STORAGE_KEY_PREFIX, now: env.now, maxAgeMs, timers: env.timers });
}

/**
 * The resumable request and its persisted record. With no store (`persist: false`) it still
 * knows what is resumable in memory, and `hasPendingRequest` stays false.
 *
 * @example
 * ```ts
 * const resume = new ResumeRecord(openStore(options, env, maxAgeMs), state, env.now);
 * resume._restore(); // a reload shows the text so far
 * resume._keep(session, true); // a token changed hands: written now
 * ```
 */
export class ResumeRecord {
  declare private _store: RequestStore | null;
  declare private _state: StateStore;
  declare private _now: () => number;
  /** The latest resumable request: a record, or a live request its record is built from when needed. */
  declare private _held: PersistedRequest | LiveRequest | null;
  /** Builds the record of what is held, when a throttled write happens. */
  declare private _writer: () => PersistedRequest;

  constructor(store: RequestStore | null, state: StateStore, now: () => number) {
    this._store = store;
    this._state = state;
    this._now = now;
    this._held = null;
    this._writer = () => this._record() as PersistedRequest;
  }

  /** On construction: a reload shows the text so far at once; resuming waits for reconnect(). */
  _restore(): void {
    const record = this._store?.load() ?? null;
    if (record !== null) {
      this._held = record;
      this._state.apply({ type: 'start', channelId: record.channelId, at: this._now(), restored: record });
      this._state.apply({ type: 'pending', hasPendingRequest: true });
    }
  }

  /** The resumable request as a record, or null. */
  _record(): PersistedRequest | null {
    const held = this._held;
    return held === null || 'savedAt' in held ? held : this._build(held);
  }

  /** The resumable request, else what storage holds (another tab may have written it). */
  _load(): PersistedRequest | null {
    return this._record() ?? this._store?.load() ?? null;
  }

  /** Whether a request can be resumed; never with persistence off. */
  _pending(): boolean {
    if (this._store === null) return false;
    if (this._held !== null) return true;
    const record = this._store.load();
    if (record !== null) this._set(record);
    return record !== null;
  }

  /** Keeps `live` resumable; writes it now, or throttled (`now` false: per event, built only when written). */
  _keep(live: LiveRequest, now: boolean): void {
    if (this._held !== live || this._state._state.hasPendingRequest !== (this._store !== null)) this._set(live);
    if (now) this._store?.save(this._writer());
    else this._store?._saveSoon(this._writer);
  }

  /** Nothing is resumable any more: the record goes. */
  _forget(): void {
    this._store?.clear();
    this._set(null);
  }

  /**
   * Writes a throttled record now (a page going away, a request that failed but may resume);
   * `done`: the client is going away but the request stays resumable, so no timer is left.
   */
  _flush(done?: boolean): void {
    this._store?._flush(done);
  }

  /** Sets what is resumable, keeping `hasPendingRequest` in step (always false without a store). */
  private _set(held: PersistedRequest | LiveRequest | null): void {
    this._held = held;
    if (this._state.apply({ type: 'pending', hasPendingRequest: this._store !== null && held !== null })) this._state._schedule();
  }

  /** The record of a live request: enough to resume it losslessly after a reload. */
  private _build(live: LiveRequest): PersistedRequest {
    const state = this._state;
    // An absent websocketUrl/websocketChannel is an undefined field here: JSON leaves it out, and
    // no reader tells the two apart.
    const record: PersistedRequest = { ...live._fields(), lastSeq: state._state.lastSeq, text: state._text(), savedAt: this._now() };
    if (state._state.toolCalls.length > 0) record.toolCalls = state._state.toolCalls;
    return record;
  }
}
