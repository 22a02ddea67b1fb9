import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOW_MS, NOW_SEC, SECRET, mrOnly, standardOnly } from '../../test/support/webhook-fixtures.js';
import { WebhookVerificationError } from './errors.js';
import { signWebhook } from './sign.js';
import { verifyWebhook, verifyWebhookSignature } from './verify.js';
import { verifyWebhookAsync, verifyWebhookSignatureAsync } from './verify-async.js';
import type { VerifyWebhookOptions } from './verify-core.js';

const now = () => NOW_MS;
const sign = (body: Uint8Array | string) => signWebhook({ body, secret: SECRET, id: 'msg_prop', timestamp: NOW_SEC });
const schemes = [
  ['standard', standardOnly],
  ['mr', mrOnly],
] as const;

/** Runs both implementations; resolves with the codes (or 'ok') they reached, which must agree. */
async function outcome(o: VerifyWebhookOptions): Promise<string> {
  const sync = (() => {
    try {
      verifyWebhookSignature(o);
      return 'ok';
    } catch (e) {
      if (!(e instanceof WebhookVerificationError)) throw e;
      return e.code;
    }
  })();
  const async = await verifyWebhookSignatureAsync(o).then(
    () => 'ok',
    (e: unknown) => {
      if (!(e instanceof WebhookVerificationError)) throw e;
      return e.code;
    },
  );
  expect(async).toBe(sync);
  return sync;
}

describe.each(schemes)('properties, %s scheme', (scheme, pick) => {
  it('any body (arbitrary bytes, invalid UTF-8 included) verifies once signed, sync and async', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (body) => {
        expect(await outcome({ body, headers: pick(sign(body)), secret: SECRET, now })).toBe('ok');
      }),
      { numRuns: 150 },
    );
  });

  it('any string body verifies once signed, whether given as text or as its UTF-8 bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 300 }), async (text) => {
        const headers = pick(sign(text));
        expect(await outcome({ body: text, headers, secret: SECRET, now })).toBe('ok');
        expect(await outcome({ body: new TextEncoder().encode(text), headers, secret: SECRET, now })).toBe('ok');
      }),
      { numRuns: 100 },
    );
  });

  it('any changed byte of the body is rejected', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 1024 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (body, at, xor) => {
          const headers = pick(sign(body));
          const tampered = body.slice();
          const i = at % body.length;
          tampered[i] = tampered[i]! ^ xor;
          expect(await outcome({ body: tampered, headers, secret: SECRET, now })).toBe('bad_signature');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('any changed character of the signature is rejected', async () => {
    const alphabet = scheme === 'standard' ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=' : '0123456789abcdef';
    const body = '{"id":"msg_prop"}';
    const headers = pick(sign(body));
    const name = scheme === 'standard' ? 'webhook-signature' : 'mr-signature';
    const prefix = scheme === 'standard' ? 3 : 0; // keep "v1," so the signature itself is what changes
    const original = headers[name]!;
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.nat(), async (at, pickChar) => {
        const i = prefix + (at % (original.length - prefix));
        const choices = [...alphabet].filter((c) => c !== original[i]);
        const changed = original.slice(0, i) + choices[pickChar % choices.length] + original.slice(i + 1);
        const code = await outcome({ body, headers: { ...headers, [name]: changed }, secret: SECRET, now });
        expect(['bad_signature', 'invalid_header']).toContain(code);
      }),
      { numRuns: 150 },
    );
  });

  it('a 1 MiB body of random bytes verifies, sync and async, and fails with one byte changed', async () => {
    const [body] = fc.sample(fc.uint8Array({ minLength: 1 << 20, maxLength: 1 << 20 }), { numRuns: 1, seed: 42 });
    const headers = pick(sign(body!));
    expect(await outcome({ body: body!, headers, secret: SECRET, now })).toBe('ok');
    const tampered = body!.slice();
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    expect(await outcome({ body: tampered, headers, secret: SECRET, now })).toBe('bad_signature');
  });
});

describe('robustness', () => {
  it('never throws anything but WebhookVerificationError on arbitrary input', async () => {
    const headerValue = fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }), fc.constant(undefined));
    const headers = fc.record(
      {
        'webhook-id': headerValue,
        'webhook-timestamp': fc.oneof(headerValue, fc.constant(String(NOW_SEC))),
        'webhook-signature': headerValue,
        'mr-signature': headerValue,
        'mr-timestamp': fc.oneof(headerValue, fc.constant(String(NOW_SEC))),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.string(), fc.uint8Array()), fc.oneof(headers, fc.anything()), async (body, h) => {
        const o = { body, headers: h, secret: SECRET, now } as unknown as VerifyWebhookOptions;
        for (const run of [async () => verifyWebhook(o), () => verifyWebhookAsync(o)]) {
          const err = await run().then(() => null, (e: unknown) => e);
          if (err !== null) expect(err).toBeInstanceOf(WebhookVerificationError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
