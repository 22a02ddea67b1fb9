/**
 * `Idempotency-Key` records in Redis, so a retry that lands on another gateway process still gets
 * the first call's answer instead of starting a second generation.
 *
 * One key per (scope, Idempotency-Key), named by a hash (the scope holds an API key). The first
 * caller claims it with `SET NX` (a pending marker with the body's fingerprint, expiring after
 * `claimTtlMs` so a dead node's claim does not block the key for long), runs, then replaces the
 * marker with the answer (kept `ttlMs`). A caller that finds the marker polls until the answer is
 * there; one that finds the key gone (the first call failed, or its claim expired) claims it.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  bodyFingerprint,
  checkIdempotencyKey,
  keyReused,
  type IdempotencyStore,
  type IdempotentResult,
  type StoredAnswer,
} from '../http/idempotency.js';
import { sleep, systemTimers, type Timers } from '../timers.js';
import { storeUnavailable, type RedisClient } from './redis.js';

/** What {@link createRedisIdempotency} needs. */
export interface RedisIdempotencyOptions {
  redis: RedisClient;
  /** Every key goes under it, e.g. `mr:`. */
  prefix: string;
  /** How long an answer is replayed. */
  ttlMs: number;
  /** How often a caller waiting for another's answer looks again. Default 100 ms. */
  pollMs?: number;
  /** How long a claim lasts without an answer (its node may have died). Default 5 min. */
  claimTtlMs?: number;
  timers?: Timers;
}

const DEFAULT_POLL_MS = 100;
const DEFAULT_CLAIM_TTL_MS = 5 * 60_000;

/* KEYS: record. ARGV: our pending marker, the answer ('' to forget), ttl. Only our own claim is touched. */
const SETTLE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

interface IdempotencyCommands {
  mrSettleIdempotency(key: string, marker: string, answer: string, ttlMs: number): Promise<number>;
}

type Stored = { state: 'pending'; fingerprint: string; claim: string } | { state: 'done'; fingerprint: string; answer: StoredAnswer };

/**
 * Creates the Redis idempotency store.
 *
 * @example
 * ```ts
 * const idempotency = createRedisIdempotency({ redis, prefix: 'mr:', ttlMs: 3_600_000 });
 * const { answer, replayed } = await idempotency.run(`${apiKey} async`, key, rawBody, () => accept());
 * ```
 */
export function createRedisIdempotency(options: RedisIdempotencyOptions): IdempotencyStore {
  const { redis, prefix, ttlMs } = options;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const claimTtlMs = options.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
  const timers = options.timers ?? systemTimers;
  // A claim expires after claimTtlMs, so a waiter sees it go within that many polls (plus slack).
  const maxPolls = Math.ceil(claimTtlMs / pollMs) + 2;
  redis.defineCommand('mrSettleIdempotency', { numberOfKeys: 1, lua: SETTLE_SCRIPT });
  const commands = redis as unknown as IdempotencyCommands;

  async function call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  async function runClaimed(id: string, marker: string, execute: () => Promise<StoredAnswer>): Promise<IdempotentResult> {
    let answer: StoredAnswer;
    try {
      answer = await execute();
    } catch (err) {
      // Forgotten, so the caller may retry; if Redis is down the claim simply expires.
      await commands.mrSettleIdempotency(id, marker, '', 0).catch(() => undefined);
      throw err;
    }
    const fingerprint = (JSON.parse(marker) as Stored).fingerprint;
    const done: Stored = { state: 'done', fingerprint, answer };
    // The work is done and accepted: its answer goes back even if it could not be kept for replays.
    await commands.mrSettleIdempotency(id, marker, JSON.stringify(done), ttlMs).catch(() => undefined);
    return { answer, replayed: false };
  }

  return {
    async run(scope, key, body, execute) {
      if (key === undefined) return { answer: await execute(), replayed: false };
      checkIdempotencyKey(key);
      const id = `${prefix}idem:${createHash('sha256').update(`${scope}\u0000${key}`).digest('hex')}`;
      const fingerprint = bodyFingerprint(body);
      const marker = JSON.stringify({ state: 'pending', fingerprint, claim: randomUUID() } satisfies Stored);
      for (let polls = 0; polls <= maxPolls; polls++) {
        const claimed = await call(() => redis.set(id, marker, 'PX', claimTtlMs, 'NX'));
        if (claimed === 'OK') return runClaimed(id, marker, execute);
        const raw = await call(() => redis.get(id));
        if (raw === null) continue; // gone between the two commands: claim it
        let stored: Stored;
        try {
          stored = JSON.parse(raw) as Stored;
        } catch (err) {
          throw storeUnavailable(err);
        }
        if (stored.fingerprint !== fingerprint) throw keyReused();
        if (stored.state === 'done') return { answer: stored.answer, replayed: true };
        await sleep(timers, pollMs);
      }
      throw storeUnavailable(new Error('the first call with this Idempotency-Key is still running'));
    },
  };
}
