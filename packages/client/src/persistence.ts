/**
 * Persistence glue between the client and its `RequestStore` (storage.ts): which
 * request is resumable, the record written for it, when it is written (at once when
 * a token changes hands, throttled per event), and the restore on construction
 * that shows a reload the text so far.
 */
import type { ModelRiverClient } from './client.js';
import type { ClientEnv } from './env.js';
import type { Session } from './session.js';
import { RequestStore } from './storage.js';
import type { PersistedRequest } from './storage.js';
import { flushText } from './stream-state.js';
import type { ModelRiverClientOptions } from './types.js';

/** Today's storage key prefix. */
export const DEFAULT_STORAGE_KEY_PREFIX = 'modelriver_';
/** A persisted request older than this (ms) is dropped. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

/** The store for `options`, or null when persistence is off (`env.storage` null). */
export function openStore(options: ModelRiverClientOptions, env: ClientEnv, maxAgeMs: number): RequestStore | null {
  return env.storage === null
    ? null
    : new RequestStore({ storage: env.storage, prefix: options.storageKeyPrefix ?? DEFAULT_STORAGE_KEY_PREFIX, now: env.now, maxAgeMs, timers: env.timers });
}

/** On construction: a reload shows the text so far at once; resuming waits for reconnect(). */
export function restore(c: ModelRiverClient): void {
  const record = c._store?.load() ?? null;
  if (record !== null) {
    c._resumable = record;
    c._apply({ type: 'start', channelId: record.channelId, at: c._env.now(), restored: record });
    c._apply({ type: 'pending', hasPendingRequest: true });
  }
}

/** The resumable request as a record. */
export function heldRecord(c: ModelRiverClient): PersistedRequest | null {
  const held = c._resumable;
  return held === null || 'savedAt' in held ? held : buildRecord(c, held);
}

/** Sets what is resumable, keeping `hasPendingRequest` in step (always false without a store). */
export function setResumable(c: ModelRiverClient, held: PersistedRequest | Session | null): void {
  c._resumable = held;
  const pending = c._store !== null && held !== null;
  if (c._state.hasPendingRequest !== pending) {
    c._apply({ type: 'pending', hasPendingRequest: pending });
    c._notifier.schedule();
  }
}

/** The record of a live session: enough to resume it losslessly after a reload. */
export function buildRecord(c: ModelRiverClient, session: Session): PersistedRequest {
  const state = c._state;
  flushText(state, c._pending);
  const record: PersistedRequest = {
    channelId: session._channelId,
    resumeToken: session._token?._value ?? null,
    lastSeq: state.lastSeq,
    text: state.text,
    savedAt: c._env.now(),
  };
  if (session._websocketUrl !== undefined) record.websocketUrl = session._websocketUrl;
  if (session._websocketChannel !== undefined) record.websocketChannel = session._websocketChannel;
  if (state.toolCalls.length > 0) record.toolCalls = state.toolCalls;
  return record;
}

/** Keeps the session resumable; writes it now, or throttled (`now` false: per event, built only when written). */
export function persist(c: ModelRiverClient, session: Session, now: boolean): void {
  if (session._ended) return;
  if (c._resumable !== session || c._state.hasPendingRequest !== (c._store !== null)) setResumable(c, session);
  if (now) c._store?.save(session._record());
  else c._store?.saveSoon(session._record);
}
