import { randomBytes } from 'node:crypto';

/** Source of random bytes, injectable so tests can make tokens predictable. */
export type RandomBytes = (size: number) => Uint8Array;

/** Bytes of entropy per token: 24 bytes is 192 bits, 32 base64url characters. */
const TOKEN_BYTES = 24;

/** Default cap on the live tokens of one topic (see {@link TokenStore.issue}). */
export const DEFAULT_MAX_TOKENS_PER_TOPIC = 64;

/**
 * The connect and resume tokens as the hub uses them: the same operations as {@link TokenStore},
 * asynchronous so that they can live in a store shared by several gateway nodes (Redis), where
 * `consume` is one atomic `GETDEL`.
 */
export interface ConnectTokens {
  issue(topic: string, ttlMs: number): Promise<string>;
  isValid(token: string): Promise<boolean>;
  consume(token: string): Promise<string | undefined>;
  revoke(token: string): Promise<void>;
  /** Forgets expired tokens (a store with its own expiry does nothing). */
  sweep(): void;
  /** Live tokens this node knows of (a shared store reports -1: it does not count them). */
  readonly size: number;
  clear(): void;
}

/**
 * The in-memory {@link ConnectTokens}: a {@link TokenStore} behind promises that are already settled.
 *
 * @example
 * ```ts
 * const tokens = localTokens(new TokenStore({ now: Date.now }));
 * const token = await tokens.issue(topic, 60_000);
 * await tokens.consume(token); // topic
 * ```
 */
export function localTokens(store: TokenStore): ConnectTokens {
  return {
    issue: (topic, ttlMs) => Promise.resolve(store.issue(topic, ttlMs)),
    isValid: (token) => Promise.resolve(store.isValid(token)),
    consume: (token) => Promise.resolve(store.consume(token)),
    revoke: (token) => {
      store.revoke(token);
      return Promise.resolve();
    },
    sweep: () => store.sweep(),
    get size() {
      return store.size;
    },
    clear: () => store.clear(),
  };
}

interface TokenEntry {
  readonly topic: string;
  readonly expiresAt: number;
}

/**
 * Single-use, topic-bound, expiring connect tokens: both `ws_token`s (issued for the ack and for
 * `/v1/ai/reconnect`) and `resume_token`s (issued on every successful join). The two kinds are
 * accepted alike at the upgrade; only their lifetimes differ, and that is the caller's choice.
 * At most `maxPerTopic` tokens of one topic are alive at once: issuing past the cap revokes the
 * oldest, so no amount of issuing grows memory beyond the cap times the number of channels.
 *
 * @example
 * ```ts
 * const tokens = new TokenStore({ now: Date.now });
 * const token = tokens.issue('ai_response:…:…', 5 * 60_000);
 * tokens.isValid(token); // true
 * tokens.consume(token); // 'ai_response:…:…'
 * tokens.consume(token); // undefined: single use
 * tokens.revoke(tokens.issue('ai_response:…:…', 60_000)); // gone before it was used
 * ```
 */
export class TokenStore {
  private readonly entries = new Map<string, TokenEntry>();
  /** The live tokens of each topic, oldest first (a Set iterates in insertion order). */
  private readonly byTopic = new Map<string, Set<string>>();
  private readonly now: () => number;
  private readonly random: RandomBytes;
  private readonly maxPerTopic: number;

  constructor(options: { now: () => number; random?: RandomBytes; maxPerTopic?: number }) {
    this.now = options.now;
    this.random = options.random ?? randomBytes;
    this.maxPerTopic = options.maxPerTopic ?? DEFAULT_MAX_TOKENS_PER_TOPIC;
  }

  /**
   * Issues an opaque token bound to `topic`, valid for `ttlMs` from now. When the topic already
   * has `maxPerTopic` live tokens, the oldest is revoked first.
   */
  issue(topic: string, ttlMs: number): string {
    let token: string;
    // A collision is astronomically unlikely, but an injected weak source must not
    // silently rebind someone else's token.
    do token = Buffer.from(this.random(TOKEN_BYTES)).toString('base64url');
    while (this.entries.has(token));
    let live = this.byTopic.get(topic);
    if (live === undefined) {
      live = new Set();
      this.byTopic.set(topic, live);
    }
    for (const oldest of live) {
      if (live.size < this.maxPerTopic) break;
      this.forget(oldest);
    }
    // `forget` may have dropped the emptied set from the index: put this one back.
    this.byTopic.set(topic, live);
    live.add(token);
    this.entries.set(token, { topic, expiresAt: this.now() + ttlMs });
    return token;
  }

  /** Makes `token` unusable at once (unknown or used tokens are ignored). */
  revoke(token: string): void {
    this.forget(token);
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
    this.forget(token);
    return entry.expiresAt > this.now() ? entry.topic : undefined;
  }

  /** Forgets expired tokens so that unused ones do not accumulate. */
  sweep(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expiresAt <= now) this.forget(token);
  }

  clear(): void {
    this.entries.clear();
    this.byTopic.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private forget(token: string): void {
    const entry = this.entries.get(token);
    if (entry === undefined) return;
    this.entries.delete(token);
    const live = this.byTopic.get(entry.topic);
    if (live === undefined) return;
    live.delete(token);
    if (live.size === 0) this.byTopic.delete(entry.topic);
  }
}
