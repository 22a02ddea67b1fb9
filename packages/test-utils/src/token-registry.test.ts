import { describe, expect, it } from 'vitest';
import { TokenRegistry } from './token-registry.js';

describe('TokenRegistry', () => {
  it('spends a token once and remembers its topic and kind', () => {
    const tokens = new TokenRegistry(() => 0);
    const t = tokens.issue('topic-a', 'resume_token', 1_000);
    expect(tokens.consume(t)).toEqual({ ok: true, grant: { token: t, kind: 'resume_token', topic: 'topic-a' } });
    expect(tokens.consume(t)).toEqual({ ok: false, reason: 'used' });
  });

  it('refuses missing, unknown and expired tokens', () => {
    let now = 1_000;
    const tokens = new TokenRegistry(() => now);
    const t = tokens.issue('topic-a', 'ws_token', 500);
    expect(tokens.consume(null)).toEqual({ ok: false, reason: 'missing' });
    expect(tokens.consume('')).toEqual({ ok: false, reason: 'missing' });
    expect(tokens.consume('wst_nope')).toEqual({ ok: false, reason: 'unknown' });
    now = 1_500;
    expect(tokens.consume(t)).toEqual({ ok: false, reason: 'expired' });
  });

  it('revokes only unspent tokens of the topic (and kind)', () => {
    const tokens = new TokenRegistry(() => 0);
    const ws = tokens.issue('a', 'ws_token', 1_000);
    const resume = tokens.issue('a', 'resume_token', 1_000);
    const other = tokens.issue('b', 'resume_token', 1_000);
    expect(tokens.revoke('a', 'resume_token')).toBe(1);
    expect(tokens.consume(resume)).toEqual({ ok: false, reason: 'revoked' });
    expect(tokens.consume(ws).ok).toBe(true);
    expect(tokens.consume(other).ok).toBe(true);
  });
});
