import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ResponsePayload } from '@modelriver/client';
import { ModelRiverError, contentDigest, verifyStreamDigest, verifyWebhook } from '../src/index.js';
import * as webhooksEntry from '../src/webhooks/index.js';
import { NOW_MS, SECRET, completedEvent, signedDelivery } from './support/webhook-fixtures.js';

// Vectors computed outside Node (Python's hashlib over the UTF-8 bytes), not by the code under test.
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const HELLO = '185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969';
const NON_ASCII = 'héllo wörld 👋🏽 — 日本語';
const NON_ASCII_SHA = '8c42a5477abd9c0c3af56b15d410758873e88def3a33023252d92ebc01fcbe9c';

function argumentError(run: () => unknown): ModelRiverError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ModelRiverError);
    expect((err as ModelRiverError).code).toBe('invalid_argument');
    return err as ModelRiverError;
  }
  throw new Error('expected an invalid_argument error');
}

describe('contentDigest', () => {
  it('is the lowercase hex SHA-256 of the UTF-8 bytes', () => {
    expect(contentDigest('')).toBe(EMPTY);
    expect(contentDigest('Hello')).toBe(HELLO);
    expect(contentDigest(NON_ASCII)).toBe(NON_ASCII_SHA);
  });

  it('encodes a lone surrogate as U+FFFD, like TextEncoder', () => {
    expect(contentDigest('a\uD83Db')).toBe(contentDigest('a\uFFFDb'));
  });

  it('refuses a non-string with invalid_argument', () => {
    for (const bad of [undefined, null, 42, Buffer.from('Hello'), { content: 'Hello' }]) {
      expect(argumentError(() => contentDigest(bad as unknown as string)).message).toMatch(/contentDigest needs a string/);
    }
  });
});

describe('verifyStreamDigest', () => {
  const event = { content_sha256: NON_ASCII_SHA, last_seq: 42 };

  it('accepts the same text, with or without the last seq', () => {
    expect(verifyStreamDigest({ text: NON_ASCII, event })).toEqual({ ok: true });
    expect(verifyStreamDigest({ text: NON_ASCII, event, lastSeq: 42 })).toEqual({ ok: true });
    expect(verifyStreamDigest({ text: '', event: { content_sha256: EMPTY } })).toEqual({ ok: true });
  });

  it('accepts an upper-case digest', () => {
    expect(verifyStreamDigest({ text: 'Hello', event: { content_sha256: HELLO.toUpperCase() } })).toEqual({ ok: true });
  });

  it('reports digest_mismatch for a different text, as a result', () => {
    for (const text of ['Hello', NON_ASCII.slice(0, -1), `${NON_ASCII} `, NON_ASCII.normalize('NFD')]) {
      const result = verifyStreamDigest({ text, event, lastSeq: 42 });
      expect(result).toMatchObject({ ok: false, code: 'digest_mismatch' });
      expect(!result.ok && result.message).toContain(NON_ASCII_SHA);
    }
  });

  it('reports seq_mismatch when the browser saw another last seq, before comparing texts', () => {
    for (const lastSeq of [41, 43, 0]) {
      const result = verifyStreamDigest({ text: 'a truncated text', event, lastSeq });
      expect(result).toMatchObject({ ok: false, code: 'seq_mismatch' });
      expect(!result.ok && result.message).toContain(`${lastSeq}`);
    }
  });

  it('reports digest_missing when the gateway sent no digest, or no last_seq to compare with', () => {
    expect(verifyStreamDigest({ text: 'Hello', event: {} })).toMatchObject({ ok: false, code: 'digest_missing' });
    expect(verifyStreamDigest({ text: 'Hello', event: { last_seq: 3 }, lastSeq: 3 })).toMatchObject({ ok: false, code: 'digest_missing' });
    const noSeq = verifyStreamDigest({ text: 'Hello', event: { content_sha256: HELLO }, lastSeq: 3 });
    expect(noSeq).toMatchObject({ ok: false, code: 'digest_missing' });
    expect(!noSeq.ok && noSeq.message).toMatch(/last_seq/);
  });

  it('throws invalid_argument for arguments of the wrong type', () => {
    const bad: unknown[] = [
      undefined,
      null,
      'Hello',
      { event },
      { text: 42, event },
      { text: 'Hello' },
      { text: 'Hello', event: null },
      { text: 'Hello', event: [] },
      { text: 'Hello', event: 'sha' },
      { text: 'Hello', event, lastSeq: '42' },
      { text: 'Hello', event, lastSeq: -1 },
      { text: 'Hello', event, lastSeq: 1.5 },
      { text: 'Hello', event, lastSeq: Number.NaN },
      { text: 'Hello', event: { content_sha256: 42 } },
      { text: 'Hello', event: { content_sha256: null } },
      { text: 'Hello', event: { content_sha256: 'not-hex' } },
      { text: 'Hello', event: { content_sha256: `${HELLO}0` } },
      { text: 'Hello', event: { content_sha256: HELLO, last_seq: '3' } },
      { text: 'Hello', event: { content_sha256: HELLO, last_seq: -3 } },
    ];
    for (const input of bad) {
      expect(argumentError(() => verifyStreamDigest(input as Parameters<typeof verifyStreamDigest>[0])).message).toMatch(/verifyStreamDigest/);
    }
  });

  it("checks a browser's text against a verified webhook and against a response payload", () => {
    const content = NON_ASCII;
    const delivery = signedDelivery(completedEvent({ content, last_seq: 17, content_sha256: NON_ASCII_SHA }));
    const { event: webhook } = verifyWebhook({ ...delivery, secret: SECRET, now: () => NOW_MS });
    expect(webhook.last_seq).toBe(17);
    expect(verifyStreamDigest({ text: content, lastSeq: 17, event: webhook })).toEqual({ ok: true });
    expect(verifyStreamDigest({ text: content.slice(0, 5), lastSeq: 17, event: webhook })).toMatchObject({ code: 'digest_mismatch' });

    const response: ResponsePayload = {
      seq: 17,
      status: 'success',
      channel_id: webhook.channel_id,
      content,
      meta: {},
      last_seq: 17,
      content_sha256: NON_ASCII_SHA,
    };
    expect(verifyStreamDigest({ text: content, lastSeq: response.seq, event: response })).toEqual({ ok: true });
  });
});

describe('entries', () => {
  it('exports the digest helpers from the main entry only, not from the size-budgeted webhooks entry', () => {
    expect(Object.keys(webhooksEntry)).not.toContain('contentDigest');
    expect(Object.keys(webhooksEntry)).not.toContain('verifyStreamDigest');
  });
});

describe('without node:crypto', () => {
  afterEach(() => {
    vi.doUnmock('../src/webhooks/node-crypto.js');
    vi.resetModules();
  });

  it('throws unsupported_runtime rather than crashing', async () => {
    vi.resetModules();
    vi.doMock('../src/webhooks/node-crypto.js', () => ({ loadNodeCrypto: () => null }));
    const fresh = await import('../src/stream-digest.js');
    expect(() => fresh.contentDigest('Hello')).toThrow(expect.objectContaining({ code: 'unsupported_runtime' }));
  });
});
