/**
 * `Idempotency-Key` support: @modelriver/node retries a call with the same key, so a retry after a
 * lost answer must not start a second generation. The first call with a key runs; later calls with
 * the same key and the same body get its result (waiting for it if it is still running); the same
 * key with a different body is refused. Failed calls are forgotten, so they can be retried.
 */
import { createHash } from 'node:crypto';
import { ErrorCode, GatewayError } from '../errors.js';

/** A successful answer, kept for replay. */
export interface StoredAnswer {
  status: number;
  body: Record<string, unknown>;
}

interface Entry {
  fingerprint: string;
  answer: Promise<StoredAnswer>;
  expiresAt: number;
}

/** What {@link IdempotencyStore.run} reports besides the answer. */
export interface IdempotentResult {
  answer: StoredAnswer;
  /** True when the answer is a replay of an earlier call's. */
  replayed: boolean;
}

/**
 * Where idempotency records live: {@link IdempotencyCache} in memory (one process), or
 * `createRedisIdempotency` in src/store (shared by gateway processes).
 *
 * @example
 * ```ts
 * const { answer, replayed } = await idempotency.run(`${apiKey} async`, key, rawBody, () => accept());
 * ```
 */
export interface IdempotencyStore {
  /**
   * Runs `execute` once per (scope, key); replays its answer to later calls with the same key and
   * body (waiting for it if it is still running); refuses the key with another body (422
   * `idempotency_key_reused`). A failed `execute` is forgotten, so the call can be retried.
   * Without a key, simply runs it.
   */
  run(scope: string, key: string | undefined, body: Buffer, execute: () => Promise<StoredAnswer>): Promise<IdempotentResult>;
}

const MAX_KEY_LENGTH = 255;
const SWEEP_INTERVAL_MS = 1000;

/**
 * Checks an `Idempotency-Key` header's value (400 `invalid_field` unless 1-255 characters).
 *
 * @example
 * ```ts
 * checkIdempotencyKey(req.headers['idempotency-key']);
 * ```
 */
export function checkIdempotencyKey(key: string): void {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new GatewayError(400, ErrorCode.invalidField, `Idempotency-Key header must be 1-${MAX_KEY_LENGTH} characters`);
  }
}

/**
 * What identifies a body for idempotency: its SHA-256, hex.
 *
 * @example
 * ```ts
 * bodyFingerprint(Buffer.from('{}')); // '44136fa3…'
 * ```
 */
export function bodyFingerprint(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The error for a key used again with a different body.
 *
 * @example
 * ```ts
 * if (stored.fingerprint !== fingerprint) throw keyReused();
 * ```
 */
export function keyReused(): GatewayError {
  return new GatewayError(422, ErrorCode.idempotencyKeyReused, 'this Idempotency-Key was already used with a different body');
}

/**
 * Idempotency records per (API key, route, Idempotency-Key), in this process's memory.
 *
 * @example
 * ```ts
 * const cache = new IdempotencyCache(60 * 60_000, Date.now);
 * ```
 */
export class IdempotencyCache implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private lastSweep = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Runs `execute` once per key; replays its answer to later calls with the same key and body.
   * Without a key, simply runs it.
   *
   * @example
   * ```ts
   * const { answer } = await cache.run(`${apiKey} POST /v1/ai/async`, req.headers['idempotency-key'], rawBody, () => accept());
   * ```
   */
  async run(
    scope: string,
    key: string | undefined,
    body: Buffer,
    execute: () => Promise<StoredAnswer>,
  ): Promise<IdempotentResult> {
    if (key === undefined) return { answer: await execute(), replayed: false };
    checkIdempotencyKey(key);
    this.sweep();
    const id = `${scope}\u0000${key}`;
    const fingerprint = bodyFingerprint(body);
    const existing = this.entries.get(id);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw keyReused();
      }
      return { answer: await existing.answer, replayed: true };
    }
    const answer = execute();
    const entry: Entry = { fingerprint, answer, expiresAt: Number.POSITIVE_INFINITY };
    this.entries.set(id, entry);
    try {
      const result = await answer;
      entry.expiresAt = this.now() + this.ttlMs;
      return { answer: result, replayed: false };
    } catch (err) {
      this.entries.delete(id);
      throw err;
    }
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [id, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(id);
  }
}
