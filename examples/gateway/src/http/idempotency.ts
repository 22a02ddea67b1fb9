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

/** What {@link IdempotencyCache.run} reports besides the answer. */
export interface IdempotentResult {
  answer: StoredAnswer;
  /** True when the answer is a replay of an earlier call's. */
  replayed: boolean;
}

const MAX_KEY_LENGTH = 255;
const SWEEP_INTERVAL_MS = 1000;

/**
 * Idempotency records per (API key, route, Idempotency-Key).
 *
 * @example
 * ```ts
 * const cache = new IdempotencyCache(60 * 60_000, Date.now);
 * ```
 */
export class IdempotencyCache {
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
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new GatewayError(400, ErrorCode.invalidField, `Idempotency-Key header must be 1-${MAX_KEY_LENGTH} characters`);
    }
    this.sweep();
    const id = `${scope}\u0000${key}`;
    const fingerprint = createHash('sha256').update(body).digest('hex');
    const existing = this.entries.get(id);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        throw new GatewayError(422, ErrorCode.idempotencyKeyReused, 'this Idempotency-Key was already used with a different body');
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
