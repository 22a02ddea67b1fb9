import { describe, expect, it } from 'vitest';
import {
  NOW_MS,
  NOW_SEC,
  OTHER_SECRET,
  SECRET,
  aiGeneratedEvent,
  completedEvent,
  failedEvent,
  mrOnly,
  signedDelivery,
  standardOnly,
} from '../../test/support/webhook-fixtures.js';
import { WebhookVerificationError, type WebhookErrorCode } from './errors.js';
import { signWebhook } from './sign.js';
import { verifyWebhook } from './verify.js';
import { verifyWebhookAsync } from './verify-async.js';
import type { VerifyWebhookOptions } from './verify-core.js';

const now = () => NOW_MS;
const variants = [
  ['verifyWebhook', async (o: VerifyWebhookOptions) => verifyWebhook(o)],
  ['verifyWebhookAsync', verifyWebhookAsync],
] as const;

async function failure(p: () => Promise<unknown>): Promise<WebhookVerificationError> {
  const err = await p().then(
    () => {
      throw new Error('expected a WebhookVerificationError, got success');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebhookVerificationError);
  return err as WebhookVerificationError;
}

describe.each(variants)('%s', (_name, verify) => {
  const expectCode = async (o: VerifyWebhookOptions, code: WebhookErrorCode) => {
    const err = await failure(() => verify(o));
    expect(err.code).toBe(code);
    return err;
  };

  it('returns the typed event, the scheme and the delivery id', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const result = await verify({ body, headers, secret: SECRET, now });
    expect(result).toEqual({
      event: completedEvent(),
      scheme: 'standard',
      matchedSecretIndex: 0,
      timestamp: NOW_SEC,
      webhookId: 'evt_completed_1',
    });
  });

  it('narrows the event on `type`', async () => {
    const { body, headers } = signedDelivery(aiGeneratedEvent());
    const { event } = await verify({ body, headers, secret: SECRET, now });
    if (event.type !== 'task.ai_generated') throw new Error('wrong type');
    expect(event.callback_url).toMatch(/\/v1\/callback\//);
    expect(event.ai_response.data).toEqual({ answer: 42 });
  });

  it('verifies the mr-* scheme alone', async () => {
    const { body, headers } = signedDelivery(failedEvent());
    const result = await verify({ body, headers: mrOnly(headers), secret: SECRET, now });
    expect(result.scheme).toBe('mr');
    expect(result.event.type).toBe('task.failed');
  });

  it('verifies the Standard Webhooks scheme alone', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    expect((await verify({ body, headers: standardOnly(headers), secret: SECRET, now })).scheme).toBe('standard');
  });

  it('accepts an uppercase mr-signature', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const h = { ...mrOnly(headers), 'mr-signature': headers['mr-signature'].toUpperCase() };
    expect((await verify({ body, headers: h, secret: SECRET, now })).scheme).toBe('mr');
  });

  it('falls back to mr-* when no secret is a Standard Webhooks secret', async () => {
    const plain = 'a plain shared secret (not base64!)';
    const { body } = signedDelivery(completedEvent());
    const { headers: mr } = signedDelivery(completedEvent(), { secret: SECRET });
    // Re-sign the mr half with the plain secret by hand.
    const { createHmac } = await import('node:crypto');
    const sig = createHmac('sha256', plain).update(`${NOW_SEC}.${body}`).digest('hex');
    const headers = { ...standardOnly(mr), 'mr-signature': sig, 'mr-timestamp': String(NOW_SEC) };
    expect((await verify({ body, headers, secret: plain, now })).scheme).toBe('mr');
    const err = await expectCode({ body, headers: standardOnly(mr), secret: plain, now }, 'invalid_secret');
    expect(err.message).not.toContain(plain);
  });

  it('accepts Fetch Headers and header names in any case', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    expect((await verify({ body, headers: new Headers(headers), secret: SECRET, now })).scheme).toBe('standard');
    const shouting = Object.fromEntries(Object.entries(mrOnly(headers)).map(([k, v]) => [k.toUpperCase(), v]));
    expect((await verify({ body, headers: shouting, secret: SECRET, now })).scheme).toBe('mr');
  });

  it('accepts header values given as arrays (e.g. Node\'s req.headersDistinct), a signature list split over them', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const h = {
      'webhook-id': [headers['webhook-id']],
      'webhook-timestamp': [headers['webhook-timestamp']],
      'webhook-signature': ['v1,AAAA', headers['webhook-signature']],
    };
    expect((await verify({ body, headers: h, secret: SECRET, now })).scheme).toBe('standard');
    await expectCode({ body, headers: { ...h, 'webhook-timestamp': ['1', '2'] }, secret: SECRET, now }, 'invalid_header');
  });

  it('accepts a repeated webhook-signature header joined into one value with ", " (Node, Fetch), valid one first or last', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const valid = headers['webhook-signature'];
    const other = signWebhook({ body, secret: OTHER_SECRET, id: headers['webhook-id'], timestamp: NOW_SEC })['webhook-signature'];
    for (const joined of [`${valid}, ${other}`, `${other}, ${valid}`, `v1,AAAA, ${valid}, v1,BBBB`]) {
      const h = { ...standardOnly(headers), 'webhook-signature': joined };
      expect((await verify({ body, headers: h, secret: SECRET, now })).scheme).toBe('standard');
    }
    // The joining done by Fetch itself, rather than a hand-built string.
    const fetchHeaders = new Headers(standardOnly(headers));
    fetchHeaders.delete('webhook-signature');
    fetchHeaders.append('webhook-signature', valid);
    fetchHeaders.append('webhook-signature', other);
    expect(fetchHeaders.get('webhook-signature')).toBe(`${valid}, ${other}`);
    expect((await verify({ body, headers: fetchHeaders, secret: SECRET, now })).matchedSecretIndex).toBe(0);
    // Joined, but none valid: still bad_signature.
    await expectCode({ body, headers: { ...standardOnly(headers), 'webhook-signature': `${other}, v1,AAAA` }, secret: SECRET, now }, 'bad_signature');
  });

  it('accepts Buffer, Uint8Array and ArrayBuffer bodies', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const buf = Buffer.from(body);
    for (const b of [buf, new Uint8Array(buf), new Uint8Array(buf).buffer]) {
      expect((await verify({ body: b, headers, secret: SECRET, now })).event.id).toBe('evt_completed_1');
    }
  });

  it('rejects a tampered body with bad_signature', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    await expectCode({ body: body.replace('Hello', 'Hellp'), headers, secret: SECRET, now }, 'bad_signature');
    await expectCode({ body: body.replace('Hello', 'Hellp'), headers: mrOnly(headers), secret: SECRET, now }, 'bad_signature');
  });

  it('rejects tampered headers: another id, another timestamp, another signature', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    await expectCode({ body, headers: { ...standardOnly(headers), 'webhook-id': 'evt_other' }, secret: SECRET, now }, 'bad_signature');
    await expectCode(
      { body, headers: { ...standardOnly(headers), 'webhook-timestamp': String(NOW_SEC + 1) }, secret: SECRET, now },
      'bad_signature',
    );
    await expectCode({ body, headers: { ...mrOnly(headers), 'mr-timestamp': String(NOW_SEC - 1) }, secret: SECRET, now }, 'bad_signature');
    const flipped = headers['mr-signature'].replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await expectCode({ body, headers: { ...mrOnly(headers), 'mr-signature': flipped }, secret: SECRET, now }, 'bad_signature');
  });

  it('rejects the wrong secret', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    await expectCode({ body, headers, secret: OTHER_SECRET, now }, 'bad_signature');
    await expectCode({ body, headers: mrOnly(headers), secret: OTHER_SECRET, now }, 'bad_signature');
  });

  it('rejects an expired delivery and one from the future, at the tolerance edge exactly', async () => {
    const old = signedDelivery(completedEvent(), { timestampSec: NOW_SEC - 301 });
    const err = await expectCode({ ...old, secret: SECRET, now }, 'timestamp_out_of_range');
    expect(err.message).toContain('301 s in the past');
    expect(err.hint).toMatch(/clock/i);
    const future = signedDelivery(completedEvent(), { timestampSec: NOW_SEC + 301 });
    expect((await expectCode({ ...future, secret: SECRET, now }, 'timestamp_out_of_range')).message).toContain('future');
    // mr scheme too
    await expectCode({ body: future.body, headers: mrOnly(future.headers), secret: SECRET, now }, 'timestamp_out_of_range');
    const edgeOld = signedDelivery(completedEvent(), { timestampSec: NOW_SEC - 300 });
    const edgeNew = signedDelivery(completedEvent(), { timestampSec: NOW_SEC + 300 });
    expect((await verify({ ...edgeOld, secret: SECRET, now })).timestamp).toBe(NOW_SEC - 300);
    expect((await verify({ ...edgeNew, secret: SECRET, now })).timestamp).toBe(NOW_SEC + 300);
  });

  it('honours a custom toleranceSec', async () => {
    const d = signedDelivery(completedEvent(), { timestampSec: NOW_SEC - 10 });
    await expectCode({ ...d, secret: SECRET, now, toleranceSec: 5 }, 'timestamp_out_of_range');
    expect((await verify({ ...d, secret: SECRET, now, toleranceSec: 10 })).event.id).toBe('evt_completed_1');
    await expectCode({ ...d, secret: SECRET, now, toleranceSec: -1 }, 'invalid_options');
  });

  it('rotates secrets: says which one matched', async () => {
    const d = signedDelivery(completedEvent(), { secret: OTHER_SECRET });
    const std = await verify({ ...d, secrets: [SECRET, OTHER_SECRET], now });
    expect(std.matchedSecretIndex).toBe(1);
    const mr = await verify({ body: d.body, headers: mrOnly(d.headers), secrets: [SECRET, OTHER_SECRET], now });
    expect(mr.matchedSecretIndex).toBe(1);
    expect((await verify({ ...signedDelivery(completedEvent()), secrets: [SECRET, OTHER_SECRET], now })).matchedSecretIndex).toBe(0);
    const err = await expectCode({ ...d, secrets: [SECRET], now }, 'bad_signature');
    expect(err.message).toContain('the secret');
  });

  it('names the missing headers', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    expect((await expectCode({ body, headers: {}, secret: SECRET, now }, 'missing_header')).message).toContain('webhook-signature');
    const partMr = await expectCode({ body, headers: { 'mr-signature': headers['mr-signature'] }, secret: SECRET, now }, 'missing_header');
    expect(partMr.message).toContain('mr-timestamp');
    const { 'webhook-id': _id, ...noId } = standardOnly(headers);
    expect((await expectCode({ body, headers: noId, secret: SECRET, now }, 'missing_header')).message).toContain('webhook-id');
    await expectCode({ body, headers: { 'webhook-id': '', 'webhook-timestamp': '', 'webhook-signature': '' }, secret: SECRET, now }, 'missing_header');
  });

  it('rejects malformed headers with invalid_header', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    await expectCode({ body, headers: { ...standardOnly(headers), 'webhook-timestamp': '12.5' }, secret: SECRET, now }, 'invalid_header');
    await expectCode({ body, headers: { ...standardOnly(headers), 'webhook-timestamp': 'soon' }, secret: SECRET, now }, 'invalid_header');
    await expectCode({ body, headers: { ...standardOnly(headers), 'webhook-signature': 'garbage' }, secret: SECRET, now }, 'invalid_header');
    await expectCode({ body, headers: { ...mrOnly(headers), 'mr-signature': 'not-hex' }, secret: SECRET, now }, 'invalid_header');
  });

  it('rejects a header list without any v1 signature', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const v2 = headers['webhook-signature'].replace('v1,', 'v2,');
    await expectCode({ body, headers: { ...standardOnly(headers), 'webhook-signature': v2 }, secret: SECRET, now }, 'bad_signature');
  });

  it('rejects a parsed body with body_already_parsed and says how to get the raw one', async () => {
    const { headers } = signedDelivery(completedEvent());
    const err = await expectCode({ body: completedEvent() as unknown as string, headers, secret: SECRET, now }, 'body_already_parsed');
    expect(err.hint).toContain('express.raw');
    expect(err.hint).toContain('req.text()');
    expect(err.status).toBe(500);
    await expectCode({ body: 42 as unknown as string, headers, secret: SECRET, now }, 'body_already_parsed');
    await expectCode({ body: undefined as unknown as string, headers, secret: SECRET, now }, 'invalid_body');
  });

  it('hints at a re-serialised body when the signature fails on reformatted JSON', async () => {
    const { body, headers } = signedDelivery(completedEvent());
    const pretty = JSON.stringify(JSON.parse(body), null, 2);
    const err = await expectCode({ body: pretty, headers, secret: SECRET, now }, 'bad_signature');
    expect(err.hint).toMatch(/re-serialised/);
    const obj = await expectCode({ body: '[object Object]', headers, secret: SECRET, now }, 'bad_signature');
    expect(obj.hint).toContain('[object Object]');
    // A compact body that merely fails (wrong secret) gets no misleading hint.
    expect((await expectCode({ body, headers, secret: OTHER_SECRET, now }, 'bad_signature')).hint).toBeUndefined();
  });

  it('rejects a verified body that is not JSON or not a known event with invalid_body', async () => {
    for (const body of ['not json', '[1,2]', '{"id":"x","type":"task.unknown","channel_id":"c"}', '{"type":"task.completed"}',
      '{"id":"x","type":"task.ai_generated","channel_id":"c"}']) {
      const d = signedDelivery(body);
      const err = await expectCode({ ...d, secret: SECRET, now }, 'invalid_body');
      expect(err.status).toBe(400);
    }
    // Signed bytes that are not UTF-8: verified, then refused rather than decoded with replacement characters.
    const invalidUtf8 = new Uint8Array([0x7b, 0xff, 0x7d]);
    const headers = signWebhook({ body: invalidUtf8, secret: SECRET, id: 'msg_1', timestamp: NOW_SEC });
    await expectCode({ body: invalidUtf8, headers, secret: SECRET, now }, 'invalid_body');
  });

  it('rejects a missing or empty secret with invalid_secret', async () => {
    const d = signedDelivery(completedEvent());
    await expectCode({ ...d, secret: '', now }, 'invalid_secret');
    await expectCode({ ...d, secrets: [], now }, 'invalid_secret');
    await expectCode({ ...d, secrets: [SECRET, 7 as unknown as string], now }, 'invalid_secret');
    await expectCode({ ...d, now } as unknown as VerifyWebhookOptions, 'invalid_secret');
    await expectCode(undefined as unknown as VerifyWebhookOptions, 'invalid_options');
  });

  it('never puts the secret in an error', async () => {
    const d = signedDelivery(completedEvent());
    const errors = await Promise.all([
      failure(() => verify({ ...d, secret: OTHER_SECRET, now })),
      failure(() => verify({ body: d.body, headers: mrOnly(d.headers), secret: OTHER_SECRET, now })),
      failure(() => verify({ ...d, secret: 'whsec_', now })),
    ]);
    for (const e of errors) {
      const text = `${e.message} ${e.hint ?? ''} ${JSON.stringify(e)} ${e.stack}`;
      expect(text).not.toContain(OTHER_SECRET);
      expect(text).not.toContain(OTHER_SECRET.slice(6));
    }
  });
});

describe('WebhookVerificationError', () => {
  it('serialises to {name, code, message, hint}', () => {
    const e = new WebhookVerificationError('bad_signature', 'No match.', 'Try again.');
    expect(JSON.parse(JSON.stringify(e))).toEqual({ name: 'WebhookVerificationError', code: 'bad_signature', message: 'No match. Hint: Try again.', hint: 'Try again.' });
    expect(e.status).toBe(400);
    expect(new WebhookVerificationError('body_too_large', 'x').status).toBe(413);
  });
});
