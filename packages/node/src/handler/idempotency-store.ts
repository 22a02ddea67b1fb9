/**
 * Remembers which webhook deliveries were handled, so a redelivery (the gateway retries until
 * it sees a 2xx, and a 2xx can be lost on the way back) does not run the handlers twice.
 */
import { ModelRiverError } from '@modelriver/client/errors';

/**
 * Where handled delivery ids are kept. The default is in memory (one process); pass one
 * backed by Redis or a database when several processes receive webhooks.
 */
export interface WebhookIdempotencyStore {
  /** True when `id` was recorded as handled and has not expired. */
  has(id: string): boolean | Promise<boolean>;
  /** Records `id` as handled. */
  add(id: string): void | Promise<void>;
}

/** Options of {@link createMemoryIdempotencyStore}. */
export interface MemoryIdempotencyStoreOptions {
  /** Ids kept at most; the least recently added go first. Default 10 000. */
  maxEntries?: number;
  /** How long an id counts as handled. Default 24 h (the gateway's retries span about 3.5 h). */
  ttlMs?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * An in-memory LRU of handled delivery ids with a time window. `maxEntries` must be a positive
 * integer and `ttlMs` a positive finite number, else it throws `ModelRiverError` `invalid_argument`.
 *
 * @example
 * ```ts
 * const store = createMemoryIdempotencyStore({ ttlMs: 3_600_000 });
 * const handler = createWebhookHandler({ secret, store, onCompleted });
 * ```
 */
export function createMemoryIdempotencyStore(options: MemoryIdempotencyStoreOptions = {}): WebhookIdempotencyStore {
  const maxEntries = options.maxEntries ?? 10_000;
  const ttlMs = options.ttlMs ?? 24 * 3_600_000;
  // NaN or Infinity would make the store unbounded, 0 or less make it forget at once: both
  // silently re-run handlers on redeliveries, so refuse them here.
  if (!Number.isInteger(maxEntries) || maxEntries <= 0) {
    throw new ModelRiverError('invalid_argument', `maxEntries must be a positive integer, got ${String(maxEntries)}.`);
  }
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new ModelRiverError('invalid_argument', `ttlMs must be a positive finite number of ms, got ${String(ttlMs)}.`);
  }
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order: its first key is always the oldest entry.
  const seen = new Map<string, number>();
  return {
    has(id) {
      const at = seen.get(id);
      if (at === undefined) return false;
      if (now() - at < ttlMs) return true;
      seen.delete(id);
      return false;
    },
    add(id) {
      seen.delete(id);
      seen.set(id, now());
      while (seen.size > maxEntries) seen.delete(seen.keys().next().value as string);
    },
  };
}
