/**
 * Persistence of the active request, so a page reload can show the text so far
 * at once and resume the stream where it stopped.
 *
 * Persistence is best effort: every storage call is wrapped, because a full
 * quota, disabled storage or a sandboxed iframe must never break streaming.
 */
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

/** Key suffix, the same as today's client so an upgrade finds its record. */
export const ACTIVE_REQUEST_KEY = 'active_request';

/** Version tag written with each record; today's client's records have none. */
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
  try {
    const candidate = (globalThis as { localStorage?: KeyValueStorage }).localStorage;
    if (candidate !== undefined && candidate !== null) {
      const probe = '__modelriver_probe__';
      candidate.setItem(probe, '1');
      candidate.removeItem(probe);
      return candidate;
    }
  } catch {
    // Present but unusable: fall through to memory.
  }
  return createMemoryStorage();
}

type Dict = Record<string, unknown>;

function isObject(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isOptionalString(v: unknown): v is string | undefined {
  return v === undefined || typeof v === 'string';
}

function isToolCallState(v: unknown): v is ToolCallState {
  return (
    isObject(v) &&
    typeof v.index === 'number' &&
    Number.isSafeInteger(v.index) &&
    v.index >= 0 &&
    (v.id === null || typeof v.id === 'string') &&
    (v.name === null || typeof v.name === 'string') &&
    typeof v.argumentsText === 'string' &&
    typeof v.complete === 'boolean'
  );
}

/** A record in this version's shape, or null. */
function readCurrent(v: Dict): PersistedRequest | null {
  const { channelId, websocketUrl, websocketChannel, resumeToken, lastSeq, text, toolCalls, savedAt } = v;
  if (typeof channelId !== 'string' || channelId === '') return null;
  if (!isOptionalString(websocketUrl) || !isOptionalString(websocketChannel)) return null;
  if (resumeToken !== null && typeof resumeToken !== 'string') return null;
  if (typeof lastSeq !== 'number' || !Number.isSafeInteger(lastSeq) || lastSeq < 0) return null;
  if (typeof text !== 'string') return null;
  if (typeof savedAt !== 'number' || !Number.isFinite(savedAt)) return null;
  if (toolCalls !== undefined && !(Array.isArray(toolCalls) && toolCalls.every(isToolCallState))) return null;
  const request: PersistedRequest = { channelId, resumeToken, lastSeq, text, savedAt };
  if (websocketUrl !== undefined) request.websocketUrl = websocketUrl;
  if (websocketChannel !== undefined) request.websocketChannel = websocketChannel;
  if (toolCalls !== undefined) {
    // JSON drops `arguments: undefined`; put the key back so the state has its usual shape.
    request.toolCalls = (toolCalls as ToolCallState[]).map((c) => ({ ...c, arguments: c.arguments }));
  }
  return request;
}

/**
 * Today's client's record `{channelId, wsToken, timestamp, websocketUrl?, websocketChannel?}`.
 * Its `wsToken` was spent by the connect that wrote it (tokens are single use), so
 * it is never returned: the request resumes through `getToken` or the backend.
 */
function readLegacy(v: Dict): PersistedRequest | null {
  const { channelId, timestamp, websocketUrl, websocketChannel } = v;
  if (typeof channelId !== 'string' || channelId === '') return null;
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) return null;
  const request: PersistedRequest = { channelId, resumeToken: null, lastSeq: 0, text: '', savedAt: timestamp };
  // Today's client stored `undefined` (dropped by JSON) or, from some callers, null.
  if (typeof websocketUrl === 'string') request.websocketUrl = websocketUrl;
  if (typeof websocketChannel === 'string') request.websocketChannel = websocketChannel;
  return request;
}

/**
 * The active request in a `KeyValueStorage`, under `${prefix}active_request`.
 *
 * `saveSoon()` throttles writes (one per `throttleMs`, the latest value wins) so
 * a fast token stream does not serialise its whole text on every token; call
 * `flush()` before the page may go away (disconnect, `pagehide`).
 *
 * @example
 * ```ts
 * const store = new RequestStore({ storage: createMemoryStorage(), prefix: 'modelriver_',
 *   now: Date.now, maxAgeMs: 300_000, timers: { setTimeout, clearTimeout } });
 * store.saveSoon({ channelId: 'c1', resumeToken: 'r1', lastSeq: 12, text: 'Hello', savedAt: Date.now() });
 * store.flush();
 * store.load()?.text; // 'Hello'
 * ```
 */
export class RequestStore {
  private readonly storage: KeyValueStorage;
  private readonly key: string;
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private readonly timers: Timers;
  private readonly throttleMs: number;
  /** The latest value given to `saveSoon()` and not yet written. */
  private pending: PersistedRequest | null = null;
  /** Set while a write happened less than `throttleMs` ago. */
  private cooldown: unknown = null;
  private cooling = false;

  constructor(options: {
    storage: KeyValueStorage;
    prefix: string;
    now: () => number;
    maxAgeMs: number;
    timers: Timers;
    /** Default 250. */
    throttleMs?: number;
  }) {
    this.storage = options.storage;
    this.key = `${options.prefix}${ACTIVE_REQUEST_KEY}`;
    this.now = options.now;
    this.maxAgeMs = options.maxAgeMs;
    this.timers = options.timers;
    const t = options.throttleMs ?? DEFAULT_THROTTLE_MS;
    this.throttleMs = Number.isFinite(t) && t > 0 ? t : 0;
  }

  /**
   * The persisted request, or null when there is none, it is not valid JSON or
   * not a request, or it is older than `maxAgeMs` (judged by `savedAt`). An
   * unusable record is removed. A record of today's client is read with
   * `resumeToken: null`, `lastSeq: 0`, `text: ''`, and rewritten without its
   * spent `wsToken`.
   */
  load(): PersistedRequest | null {
    let raw: string | null;
    try {
      raw = this.storage.getItem(this.key);
    } catch {
      return null;
    }
    if (raw === null || raw === undefined) return null;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.remove();
      return null;
    }
    if (!isObject(value)) {
      this.remove();
      return null;
    }
    // Records of this version carry `v` and `savedAt`; today's client wrote `timestamp`.
    const legacy = value.v === undefined && value.savedAt === undefined;
    const request = legacy ? readLegacy(value) : readCurrent(value);
    if (request === null || this.now() - request.savedAt > this.maxAgeMs) {
      this.remove();
      return null;
    }
    if (legacy) this.write(request);
    return request;
  }

  /** Writes `request` now (and drops any throttled value, which is older). */
  save(request: PersistedRequest): void {
    this.pending = null;
    this.write(request);
  }

  /**
   * Writes `request` now when no write happened in the last `throttleMs`,
   * else keeps it and writes the latest such value when that interval ends.
   */
  saveSoon(request: PersistedRequest): void {
    if (this.throttleMs === 0) {
      this.save(request);
      return;
    }
    if (this.cooling) {
      this.pending = request;
      return;
    }
    this.write(request);
    this.startCooldown();
  }

  /** Writes the throttled value, if any, now. */
  flush(): void {
    const pending = this.pending;
    if (pending === null) return;
    this.pending = null;
    this.write(pending);
  }

  /** Removes the record and cancels a throttled write. */
  clear(): void {
    this.pending = null;
    this.stopCooldown();
    this.remove();
  }

  private startCooldown(): void {
    this.cooling = true;
    this.cooldown = this.timers.setTimeout(() => {
      this.cooling = false;
      this.cooldown = null;
      const pending = this.pending;
      if (pending !== null) {
        this.pending = null;
        this.write(pending);
        this.startCooldown();
      }
    }, this.throttleMs);
  }

  private stopCooldown(): void {
    if (this.cooling) this.timers.clearTimeout(this.cooldown);
    this.cooling = false;
    this.cooldown = null;
  }

  private write(request: PersistedRequest): void {
    try {
      this.storage.setItem(this.key, JSON.stringify({ v: RECORD_VERSION, ...request }));
    } catch {
      // Quota exceeded or storage disabled: streaming goes on without persistence.
    }
  }

  private remove(): void {
    try {
      this.storage.removeItem(this.key);
    } catch {
      // Same as write(): best effort.
    }
  }
}
