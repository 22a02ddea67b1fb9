import { randomBytes } from 'node:crypto';

/** Source of random bytes, injectable so tests can make tokens predictable. */
export type RandomBytes = (size: number) => Uint8Array;

/** Bytes of entropy per token: 24 bytes is 192 bits, 32 base64url characters. */
const TOKEN_BYTES = 24;

interface TokenEntry {
  readonly topic: string;
  readonly expiresAt: number;
}

/**
 * Single-use, topic-bound, expiring connect tokens: both `ws_token`s (issued for the ack and for
 * `/v1/ai/reconnect`) and `resume_token`s (issued on every successful join). The two kinds are
 * accepted alike at the upgrade; only their lifetimes differ, and that is the caller's choice.
 *
 * @example
 * ```ts
 * const tokens = new TokenStore({ now: Date.now });
 * const token = tokens.issue('ai_response:…:…', 5 * 60_000);
 * tokens.isValid(token); // true
 * tokens.consume(token); // 'ai_response:…:…'
 * tokens.consume(token); // undefined: single use
 * ```
 */
export class TokenStore {
  private readonly entries = new Map<string, TokenEntry>();
  private readonly now: () => number;
  private readonly random: RandomBytes;

  constructor(options: { now: () => number; random?: RandomBytes }) {
    this.now = options.now;
    this.random = options.random ?? randomBytes;
  }

  /** Issues an opaque token bound to `topic`, valid for `ttlMs` from now. */
  issue(topic: string, ttlMs: number): string {
    let token: string;
    // A collision is astronomically unlikely, but an injected weak source must not
    // silently rebind someone else's token.
    do token = Buffer.from(this.random(TOKEN_BYTES)).toString('base64url');
    while (this.entries.has(token));
    this.entries.set(token, { topic, expiresAt: this.now() + ttlMs });
    return token;
  }

  /** Whether `token` is known and unexpired, without using it up. */
  isValid(token: string): boolean {
    const entry = this.entries.get(token);
    return entry !== undefined && entry.expiresAt > this.now();
  }

  /** Uses up `token` and returns its topic, or `undefined` if it is unknown, expired or used. */
  consume(token: string): string | undefined {
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    return entry.expiresAt > this.now() ? entry.topic : undefined;
  }

  /** Forgets expired tokens so that unused ones do not accumulate. */
  sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(token);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
