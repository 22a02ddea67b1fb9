/**
 * `Idempotency-Key` records in Redis, so a retry that lands on another gateway process still gets
 * the first call's answer instead of starting a second generation.
 *
 * One key per (scope, Idempotency-Key), named by a hash (the scope holds an API key). The first
 * caller claims it with `SET NX` (a pending marker with the body's fingerprint, expiring after
 * `claimTtlMs`), runs, then replaces the marker with the answer (kept `ttlMs`). While it runs, it
 * pushes its claim's expiry back every `claimTtlMs / 3`: a live call holds its key however long it
 * takes, and a dead node's claim lapses within `claimTtlMs`. A caller that finds the marker polls
 * until the answer is there, for as long as the claim lives; one that finds the key gone (the
 * first call failed, or its node died and the claim lapsed) claims it.
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
import { sleep, systemTimers, type TimerHandle, type Timers } from '../timers.js';
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
  /**
   * How long a claim outlives its last refresh (the owner refreshes it every third of this while
   * its call runs), so how long a dead node's claim blocks a retry. Default 30 s.
   */
  claimTtlMs?: number;
  timers?: Timers;
}

const DEFAULT_POLL_MS = 100;
const DEFAULT_CLAIM_TTL_MS = 30_000;

/* KEYS: record. ARGV: our pending marker, the answer ('' to forget), ttl. Only our own claim is touched. */
const SETTLE_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
`;

/* KEYS: record. ARGV: our pending marker, claim ttl. Pushes back the expiry of our own claim only. */
const REFRESH_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/* KEYS: record. The record and its remaining life in one atomic read. */
const PEEK_SCRIPT = `
return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }
`;

interface IdempotencyCommands {
  mrSettleIdempotency(key: string, marker: string, answer: string, ttlMs: number): Promise<number>;
  mrRefreshIdempotency(key: string, marker: string, claimTtlMs: number): Promise<number>;
  /** [record or null, PTTL: ms left, -1 without expiry, -2 when gone]. */
  mrPeekIdempotency(key: string): Promise<[string | null, number]>;
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
  // Two refreshes can fail (Redis away a moment) before a live claim lapses.
  const refreshMs = Math.max(1, Math.floor(claimTtlMs / 3));
  redis.defineCommand('mrSettleIdempotency', { numberOfKeys: 1, lua: SETTLE_SCRIPT });
  redis.defineCommand('mrRefreshIdempotency', { numberOfKeys: 1, lua: REFRESH_SCRIPT });
  redis.defineCommand('mrPeekIdempotency', { numberOfKeys: 1, lua: PEEK_SCRIPT });
  const commands = redis as unknown as IdempotencyCommands;

  async function call<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  /**
   * Refreshes our claim every refreshMs until stopped. A refresh that fails is skipped (the next
   * one tries again); one that finds the claim no longer ours stops, since it cannot come back.
   */
  function keepClaim(id: string, marker: string): { stop(): void } {
    let stopped = false;
    let handle: TimerHandle | undefined;
    const schedule = (): void => {
      handle = timers.setTimeout(refresh, refreshMs);
    };
    const refresh = (): void => {
      handle = undefined;
      commands.mrRefreshIdempotency(id, marker, claimTtlMs).then(
        (ours) => {
          if (!stopped && ours === 1) schedule();
        },
        () => {
          if (!stopped) schedule();
        },
      );
    };
    schedule();
    return {
      stop() {
        stopped = true;
        if (handle !== undefined) timers.clearTimeout(handle);
        handle = undefined;
      },
    };
  }

  async function runClaimed(id: string, marker: string, execute: () => Promise<StoredAnswer>): Promise<IdempotentResult> {
    const claim = keepClaim(id, marker);
    let answer: StoredAnswer;
    try {
      answer = await execute();
    } catch (err) {
      claim.stop();
      // Forgotten, so the caller may retry; if Redis is down the claim simply expires.
      await commands.mrSettleIdempotency(id, marker, '', 0).catch(() => undefined);
      throw err;
    }
    claim.stop();
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
      // No cap on polls: a refreshed claim is a call still running, however long it takes. The wait
      // ends with its answer, its failure (the key is forgotten: claim it), or its node's death
      // (the claim lapses within claimTtlMs: claim it).
      for (;;) {
        const claimed = await call(() => redis.set(id, marker, 'PX', claimTtlMs, 'NX'));
        if (claimed === 'OK') return runClaimed(id, marker, execute);
        const [raw, pttl] = await call(() => commands.mrPeekIdempotency(id));
        if (raw === null) continue; // gone between the two commands: claim it
        let stored: Stored;
        try {
          stored = JSON.parse(raw) as Stored;
        } catch (err) {
          throw storeUnavailable(err);
        }
        if (stored.fingerprint !== fingerprint) throw keyReused();
        if (stored.state === 'done') return { answer: stored.answer, replayed: true };
        // Every claim a gateway writes expires; one that cannot would make this wait endless.
        if (pttl === -1) throw storeUnavailable(new Error('the claim on this Idempotency-Key never expires'));
        await sleep(timers, pollMs);
      }
    },
  };
}
