import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadStandardVectors, vectorPayload } from '../../test/support/webhook-fixtures.js';
import { WebhookVerificationError } from './errors.js';
import { signWebhook, standardWebhooksKey } from './sign.js';
import { verifyWebhookSignature } from './verify.js';
import { verifyWebhookSignatureAsync } from './verify-async.js';

// Known answers from the standard-webhooks and svix suites: our HMAC agrees with theirs, not only with itself.
const vectors = loadStandardVectors();
const sw1 = vectors.valid.find((v) => v.name === 'SW-1')!;

const verifiers = [
  ['sync (node:crypto)', async (o: Parameters<typeof verifyWebhookSignature>[0]) => verifyWebhookSignature(o)],
  ['async (WebCrypto)', verifyWebhookSignatureAsync],
] as const;

function headersFor(v: { id: string; timestamp: number }, signature: string): Record<string, string> {
  return { 'webhook-id': v.id, 'webhook-timestamp': String(v.timestamp), 'webhook-signature': signature };
}

describe.each(verifiers)('Standard Webhooks vectors, %s', (_name, verify) => {
  it('finds the vectors file with its three sections', () => {
    expect(vectors.valid.length).toBeGreaterThanOrEqual(6);
    expect(vectors.must_fail_for_SW.length).toBeGreaterThan(0);
    expect(vectors.must_pass_multi_signature_for_SW).toContain(' ');
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))('accepts %s', async (_n, v) => {
    const result = await verify({
      body: vectorPayload(v),
      headers: headersFor(v, v.signature),
      secret: v.secret,
      now: () => v.timestamp * 1000,
    });
    expect(result).toEqual({ scheme: 'standard', matchedSecretIndex: 0, timestamp: v.timestamp });
  });

  it.each(vectors.valid.map((v) => [v.name, v] as const))('accepts %s given as bytes', async (_n, v) => {
    const result = await verify({
      body: new TextEncoder().encode(vectorPayload(v)),
      headers: headersFor(v, v.signature),
      secret: v.secret,
      now: () => v.timestamp * 1000,
    });
    expect(result.scheme).toBe('standard');
  });

  it.each(vectors.must_fail_for_SW.map((s) => [s] as const))('rejects SW-1 signed %j', async (signature) => {
    const err = await Promise.resolve()
      .then(() => verify({ body: sw1.payload!, headers: headersFor(sw1, signature), secret: sw1.secret, now: () => sw1.timestamp * 1000 }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookVerificationError);
    expect((err as WebhookVerificationError).code).toBe('bad_signature');
  });

  it('accepts the multi-signature list (other versions ignored, any v1 may match)', async () => {
    const result = await verify({
      body: sw1.payload!,
      headers: headersFor(sw1, vectors.must_pass_multi_signature_for_SW),
      secret: sw1.secret,
      now: () => sw1.timestamp * 1000,
    });
    expect(result.scheme).toBe('standard');
  });

  it('rejects the multi-signature list once its matching v1 entry is removed', async () => {
    const right = sw1.signature;
    const without = vectors.must_pass_multi_signature_for_SW.split(' ').filter((e) => e !== right).join(' ');
    // The same signature under v2 stays in the list: it must not count.
    expect(without).toContain(right.replace('v1,', 'v2,'));
    await expect(
      Promise.resolve().then(() =>
        verify({ body: sw1.payload!, headers: headersFor(sw1, without), secret: sw1.secret, now: () => sw1.timestamp * 1000 }),
      ),
    ).rejects.toMatchObject({ code: 'bad_signature' });
  });
});

describe('signWebhook', () => {
  it.each(vectors.valid.map((v) => [v.name, v] as const))('reproduces %s', (_n, v) => {
    const h = signWebhook({ body: vectorPayload(v), secret: v.secret, id: v.id, timestamp: v.timestamp });
    expect(h['webhook-signature']).toBe(v.signature);
    expect(h['webhook-id']).toBe(v.id);
    expect(h['webhook-timestamp']).toBe(String(v.timestamp));
  });

  it('computes mr-signature as hex HMAC-SHA256 keyed by the whole secret string over "{ts}.{body}"', () => {
    const h = signWebhook({ body: sw1.payload!, secret: sw1.secret, id: sw1.id, timestamp: sw1.timestamp });
    const expected = createHmac('sha256', Buffer.from(sw1.secret, 'utf8')).update(`${sw1.timestamp}.${sw1.payload}`).digest('hex');
    expect(h['mr-signature']).toBe(expected);
    expect(h['mr-signature']).toMatch(/^[0-9a-f]{64}$/);
    expect(h['mr-timestamp']).toBe(String(sw1.timestamp));
    expect(h['mr-webhook-id']).toBe(sw1.id);
  });

  it('refuses a secret that is not base64 after whsec_', () => {
    expect(() => signWebhook({ body: '{}', secret: 'whsec_not base64!', id: 'x', timestamp: 1 })).toThrow(/base64/);
    expect(() => signWebhook({ body: '{}', secret: 'whsec_not base64!', id: 'x', timestamp: 1 })).toThrow(
      expect.objectContaining({ name: 'WebhookVerificationError', code: 'invalid_secret' }),
    );
  });

  it('refuses a secret or body of the wrong type with a typed error, not a TypeError from inside', () => {
    for (const secret of [undefined, null, 42]) {
      expect(() => signWebhook({ body: '{}', secret: secret as unknown as string, id: 'x', timestamp: 1 }), String(secret)).toThrow(
        expect.objectContaining({ name: 'WebhookVerificationError', code: 'invalid_secret' }),
      );
    }
    expect(standardWebhooksKey(undefined as unknown as string)).toBeNull();
    expect(() => signWebhook({ body: { id: 'evt_1' } as unknown as string, secret: sw1.secret, id: 'x', timestamp: 1 })).toThrow(
      expect.objectContaining({ name: 'WebhookVerificationError', code: 'invalid_body' }),
    );
  });
});
