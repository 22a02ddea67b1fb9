/**
 * Persistence of the active request, so a page reload can show the text so far
 * at once and resume the stream where it stopped.
 *
 * Persistence is best effort: every storage call is wrapped, because a full
 * quota, disabled storage or a sandboxed iframe must never break streaming.
 */
import { isRecord, nonEmpty } from './events.js';
import { createNotifier } from './notifier.js';
import type { Notifier } from './notifier.js';
import type { KeyValueStorage, Timers, ToolCallState } from './types.js';

/** What is kept of the active request. */
export interface PersistedRequest {
  channelId: string;
  websocketUrl?: string;
  websocketChannel?: string;
  /** The latest join's single-use resume token; null when none is at hand. */
  resumeToken: string | null;
  /** Highest `seq` applied; the rejoin asks for everything after it. */
  lastSeq: number;
  /** The text applied up to `lastSeq`. */
  text: string;
  toolCalls?: ToolCallState[];
  /** Epoch ms of the state this record holds. */
  savedAt: number;
}

/** Key suffix, the same as the hosted SDK so an upgrade finds its record. */
export const ACTIVE_REQUEST_KEY = 'active_request';

/** Version tag written with each record; the hosted SDK's records have none. */
const RECORD_VERSION = 2;

const DEFAULT_THROTTLE_MS = 250;

/**
 * A `KeyValueStorage` held in memory: for Node, tests, and browsers where
 * `localStorage` is unusable.
 *
 * @example
 * ```ts
 * const storage = createMemoryStorage();
 * const client = new ModelRiverClient({ storage });
 * ```
 */
export function createMemoryStorage(): KeyValueStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => {
      items.set(key, String(value));
    },
    removeItem: (key) => {
      items.delete(key);
    },
  };
}

/** `localStorage` if it exists and takes a write and a removal (Safari's private mode and sandboxed iframes expose it but throw), else null. */
function usableLocalStorage(): KeyValueStorage | null {
  try {
    const candidate = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (candidate !== undefined && candidate !== null) {
      const probe = '__modelriver_probe__';
      candidate.setItem(probe, '1');
      candidate.removeItem(probe);
      return candidate;
    }
  } catch {
    // Present but unusable.
  }
  return null;
}

/**
 * `localStorage` when usable (probed with a write and a removal, since Safari's
 * private mode and sandboxed iframes expose it but throw), else a memory storage.
 *
 * @example
 * ```ts
 * const store = new RequestStore({ storage: defaultStorage(), prefix: 'modelriver_', now: Date.now,
 *   maxAgeMs: 300_000, timers: { setTimeout, clearTimeout } });
 * ```
 */
export function defaultStorage(): KeyValueStorage {
  return usableLocalStorage() ?? createMemoryStorage();
}

/**
 * Whether `localStorage` exists and can be written (the hosted SDK's helper of the same name).
 * Never throws: false outside browsers, in Safari's private mode, in sandboxed iframes and when
 * storage is disabled. When false, the client persists to memory, which does not survive a reload.
 *
 * @example
 * ```ts
 * const client = new ModelRiverClient({ persist: isStorageAvailable() });
 * ```
 */
export function isStorageAvailable(): boolean {
  return usableLocalStorage() !== null;
}

type Dict = Record<string, unknown>;

const isString = (v: unknown): v is string => typeof v === 'string';

/** A record in this version's shape, or null. */
function readCurrent(v: Dict): PersistedRequest | null {
  const { channelId, websocketUrl, websocketChannel, resumeToken, lastSeq, text, toolCalls, savedAt } = v;
  const valid =
    nonEmpty(channelId) &&
    (websocketUrl === undefined || isString(websocketUrl)) &&
    (websocketChannel === undefined || isString(websocketChannel)) &&
    (resumeToken === null || isString(resumeToken)) &&
    Number.isSafeInteger(lastSeq) &&
    (lastSeq as number) >= 0 &&
    isString(text) &&
    Number.isFinite(savedAt) &&
    (toolCalls === undefined ||
      (Array.isArray(toolCalls) &&
        toolCalls.every(
          (c: unknown) =>
            // An array element fails the index check anyway: isRecord changes nothing for it.
            isRecord(c) &&
            Number.isSafeInteger(c.index) &&
            (c.index as number) >= 0 &&
            (c.id === null || isString(c.id)) &&
            (c.name === null || isString(c.name)) &&
            isString(c.argumentsText) &&
            typeof c.complete === 'boolean',
        )));
  if (!valid) return null;
  // An absent optional field comes back as an undefined one: JSON leaves it out again, and no
  // reader tells the two apart.
  return {
    channelId,
    websocketUrl,
    websocketChannel,
    resumeToken,
    lastSeq,
    text,
    savedAt,
    // JSON drops `arguments: undefined`; put the key back so the state has its usual shape.
    toolCalls: (toolCalls as ToolCallState[] | undefined)?.map((c) => ({ ...c, arguments: c.arguments })),
  } as PersistedRequest;
}

/**
 * The hosted SDK's record `{channelId, wsToken, timestamp, websocketUrl?, websocketChannel?}`.
 * Its `wsToken` was spent by the connect that wrote it (tokens are single use), so
 * it is never returned: the request resumes through `getToken` or the backend.
 */
function readLegacy(v: Dict): PersistedRequest | null {
  const { channelId, timestamp, websocketUrl, websocketChannel } = v;
  if (!nonEmpty(channelId) || !Number.isFinite(timestamp)) return null;
  return {
    channelId,
    // The hosted SDK stored `undefined` (dropped by JSON) or, from some callers, null.
    websocketUrl: isString(websocketUrl) ? websocketUrl : undefined,
    websocketChannel: isString(websocketChannel) ? websocketChannel : undefined,
    resumeToken: null,
    lastSeq: 0,
    text: '',
    savedAt: timestamp as number,
  };
}

/**
 * The active request in a `KeyValueStorage`, under `${prefix}active_request`.
 *
 * `_saveSoon()` throttles writes (one per `_throttleMs`, the latest value wins) so
 * a fast token stream does not serialise its whole text on every token; it also
 * takes a function that builds the record, called only when a write happens.
 * Call `_flush()` before the page may go away (disconnect, `pagehide`).
 *
 * @example
 * ```ts
 * const store = new RequestStore({ storage: createMemoryStorage(), prefix: 'modelriver_',
 *   now: Date.now, maxAgeMs: 300_000, timers: { setTimeout, clearTimeout } });
 * store._saveSoon({ channelId: 'c1', resumeToken: 'r1', lastSeq: 12, text: 'Hello', savedAt: Date.now() });
 * store._flush();
 * store.load()?.text; // 'Hello'
 * ```
 */
export class RequestStore {
  declare private _o: {
    storage: KeyValueStorage;
    now: () => number;
    maxAgeMs: number;
    timers: Timers;
    _throttleMs?: number;
  };
  declare private _key: string;
  /** The latest value given to `_saveSoon()` and not yet written. */
  declare private _pending: PersistedRequest | (() => PersistedRequest) | null;
  /** The write throttle: the interval notifier's leading and trailing delivery. */
  declare private _throttle: Notifier;

  constructor(options: {
    storage: KeyValueStorage;
    prefix: string;
    now: () => number;
    maxAgeMs: number;
    timers: Timers;
    /** Default 250. */
    _throttleMs?: number;
  }) {
    this._o = options;
    this._key = `${options.prefix}${ACTIVE_REQUEST_KEY}`;
    this._pending = null;
    this._restart();
  }

  /**
   * The persisted request, or null when there is none, it is not valid JSON or
   * not a request, or it is older than `maxAgeMs` (judged by `savedAt`). An
   * unusable record is removed. A record of the hosted SDK is read with
   * `resumeToken: null`, `lastSeq: 0`, `text: ''`, and rewritten without its
   * spent `wsToken`.
   */
  load(): PersistedRequest | null {
    let raw: string | null;
    try {
      raw = this._o.storage.getItem(this._key);
    } catch {
      return null;
    }
    if (raw == null) return null;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      // Corrupt: removed below.
    }
    const record = isRecord(value) ? value : null;
    // Records of this version carry `v` and `savedAt`; the hosted SDK wrote `timestamp`.
    const legacy = record !== null && record.v === undefined && record.savedAt === undefined;
    const request = record === null ? null : legacy ? readLegacy(record) : readCurrent(record);
    if (request === null || this._o.now() - request.savedAt > this._o.maxAgeMs) {
      this._remove();
      return null;
    }
    if (legacy) this._write(request);
    return request;
  }

  /** Writes `request` now (and drops any throttled value, which is older). */
  save(request: PersistedRequest): void {
    this._pending = null;
    this._throttle._flush();
    this._write(request);
  }

  /**
   * Writes `request` now when no write happened in the last `throttleMs`,
   * else keeps it and writes the latest such value when that interval ends.
   * A function is called for the record only when it is written.
   */
  _saveSoon(request: PersistedRequest | (() => PersistedRequest)): void {
    this._pending = request;
    this._throttle._schedule();
  }

  /** Writes the throttled value, if any, now; `done`: and stops the throttle for good (the record stays). */
  _flush(done?: boolean): void {
    this._throttle._flush();
    if (done) this._throttle._dispose();
  }

  /** Removes the record and cancels a throttled write. */
  clear(): void {
    this._pending = null;
    this._throttle._dispose();
    this._restart();
    this._remove();
  }

  private _restart(): void {
    this._throttle = createNotifier({ intervalMs: this._o._throttleMs ?? DEFAULT_THROTTLE_MS }, this._o, () => {
      const pending = this._pending;
      this._pending = null;
      if (pending !== null) this._write(typeof pending === 'function' ? pending() : pending);
    });
  }

  private _write(request: PersistedRequest): void {
    try {
      this._o.storage.setItem(this._key, JSON.stringify({ v: RECORD_VERSION, ...request }));
    } catch {
      // Quota exceeded or storage disabled: streaming goes on without persistence.
    }
  }

  private _remove(): void {
    try {
      this._o.storage.removeItem(this._key);
    } catch {
      // Same as _write(): best effort.
    }
  }
}
