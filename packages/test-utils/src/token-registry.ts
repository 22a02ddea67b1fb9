/**
 * Single-use connect tokens. Both kinds (the backend's `ws_token` and the
 * gateway's `resume_token`) are spent at the WebSocket upgrade, are bound to one
 * topic and expire; they differ only in lifetime and in who hands them out.
 */
import { randomBytes } from 'node:crypto';

/** Which kind of token a connect presented. */
export type TokenKind = 'ws_token' | 'resume_token';

/** Why an upgrade was refused. */
export type TokenRefusal = 'missing' | 'unknown' | 'expired' | 'used' | 'revoked';

/** What a spent token grants: the right to join one topic. */
export interface TokenGrant {
  token: string;
  kind: TokenKind;
  topic: string;
}

interface TokenRecord extends TokenGrant {
  expiresAt: number;
  state: 'fresh' | 'used' | 'revoked';
}

/**
 * Issues and spends tokens against an injected clock.
 *
 * @example
 * const tokens = new TokenRegistry(() => Date.now());
 * const t = tokens.issue('ai_response:p:c', 'ws_token', 300_000);
 * tokens.consume(t); // { ok: true, grant: { token: t, kind: 'ws_token', topic: 'ai_response:p:c' } }
 * tokens.consume(t); // { ok: false, reason: 'used' }
 */
export class TokenRegistry {
  private readonly records = new Map<string, TokenRecord>();

  constructor(private readonly now: () => number) {}

  /** Issues a fresh token for `topic`, valid for `ttlMs` from now. */
  issue(topic: string, kind: TokenKind, ttlMs: number): string {
    // A readable prefix makes upgrade logs easy to read in a failing test.
    const token = `${kind === 'ws_token' ? 'wst' : 'rst'}_${randomBytes(18).toString('base64url')}`;
    this.records.set(token, { token, kind, topic, expiresAt: this.now() + ttlMs, state: 'fresh' });
    return token;
  }

  /** Spends `token`: succeeds once, and only before it expires. */
  consume(token: string | null): { ok: true; grant: TokenGrant } | { ok: false; reason: TokenRefusal } {
    if (token === null || token === '') return { ok: false, reason: 'missing' };
    const record = this.records.get(token);
    if (!record) return { ok: false, reason: 'unknown' };
    if (record.state === 'used') return { ok: false, reason: 'used' };
    if (record.state === 'revoked') return { ok: false, reason: 'revoked' };
    if (this.now() >= record.expiresAt) return { ok: false, reason: 'expired' };
    record.state = 'used';
    return { ok: true, grant: { token: record.token, kind: record.kind, topic: record.topic } };
  }

  /** The kind of a token this registry issued, or `null`. */
  kindOf(token: string | null): TokenKind | null {
    return token === null ? null : (this.records.get(token)?.kind ?? null);
  }

  /** Makes one unspent token unusable (an unknown or spent one is left as it is). */
  revokeOne(token: string): void {
    const record = this.records.get(token);
    if (record?.state === 'fresh') record.state = 'revoked';
  }

  /** Makes every unspent token of `topic` unusable (optionally only one kind). */
  revoke(topic: string, kind?: TokenKind): number {
    let count = 0;
    for (const record of this.records.values()) {
      if (record.topic === topic && record.state === 'fresh' && (kind === undefined || record.kind === kind)) {
        record.state = 'revoked';
        count += 1;
      }
    }
    return count;
  }
}
