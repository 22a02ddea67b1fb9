import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY, BASE, mockApi } from '../../test/support/api-mock.js';
import {
  NOW_MS,
  NOW_SEC,
  OTHER_SECRET,
  SECRET,
  aiGeneratedEvent,
  completedEvent,
  failedEvent,
  signedDelivery,
} from '../../test/support/webhook-fixtures.js';
import { ModelRiverError } from '@modelriver/client';
import { ModelRiver } from '../client/model-river.js';
import { WebhookVerificationError } from '../webhooks/errors.js';
import type { WebhookEvent } from '../wire.js';
import { createMemoryIdempotencyStore } from './idempotency-store.js';
import { createWebhookHandler, type WebhookHandlerOptions } from './webhook-handler.js';

const api = mockApi();
beforeAll(api.listen);
afterEach(api.reset);
afterAll(api.close);

const now = () => NOW_MS;
const client = () => new ModelRiver({ apiKey: API_KEY, baseUrl: BASE, sleep: async () => {}, random: () => 0 });
const ai = aiGeneratedEvent(BASE);
const channel = ai.channel_id;
const okCallback = () => HttpResponse.json({ status: 'ok' });

function handler(extra: Partial<WebhookHandlerOptions> = {}) {
  return createWebhookHandler({ secret: SECRET, now, ...extra } as WebhookHandlerOptions);
}
const deliver = (h: ReturnType<typeof handler>, event: WebhookEvent, timestampSec = NOW_SEC) =>
  h.handle(signedDelivery(event, { timestampSec }));

describe('createWebhookHandler: dispatch', () => {
  it('verifies and dispatches task.completed to onEvent then onCompleted', async () => {
    const calls: string[] = [];
    const h = handler({
      onEvent: (e) => void calls.push(`event:${e.type}`),
      onCompleted: (e, ctx) => void calls.push(`completed:${e.content}:${ctx.verified.scheme}`),
      onFailed: () => void calls.push('failed'),
    });
    const result = await deliver(h, completedEvent());
    expect(result).toMatchObject({ status: 200, body: { received: true }, event: { id: 'evt_completed_1' } });
    expect(calls).toEqual(['event:task.completed', 'completed:Hello there:standard']);
  });

  it('dispatches task.failed to onFailed', async () => {
    const onFailed = vi.fn();
    await deliver(handler({ onFailed }), failedEvent());
    expect(onFailed).toHaveBeenCalledOnce();
    expect(onFailed.mock.calls[0]![0]).toMatchObject({ type: 'task.failed' });
  });

  it('answers a bad delivery with its status and {error:{code,message}} and runs nothing', async () => {
    const onEvent = vi.fn();
    const onError = vi.fn();
    const h = handler({ onEvent, onError });
    const d = signedDelivery(completedEvent());
    const bad = await h.handle({ body: `${d.body} `, headers: d.headers });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 'bad_signature' } });
    const parsed = await h.handle({ body: completedEvent() as unknown as string, headers: d.headers });
    expect(parsed).toMatchObject({ status: 500, body: { error: { code: 'body_already_parsed' } } });
    expect(onEvent).not.toHaveBeenCalled();
    expect(onError).toHaveBeenCalledTimes(2);
  });

  it('answers 500 handler_error when a callback throws, hides its text, and lets the redelivery run it again', async () => {
    const onError = vi.fn();
    let attempts = 0;
    const h = handler({
      onError,
      onCompleted: () => {
        if (++attempts === 1) throw new Error('db password wrong');
      },
    });
    const first = await deliver(h, completedEvent());
    expect(first).toMatchObject({ status: 500, body: { error: { code: 'handler_error' } } });
    expect(JSON.stringify(first.body)).not.toContain('password');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'db password wrong' }), expect.anything());
    expect((await deliver(h, completedEvent(), NOW_SEC + 30)).status).toBe(200);
    expect(attempts).toBe(2);
  });

  it('refuses a missing or empty secret at creation with invalid_secret, saying how to fix it', () => {
    const bad: unknown[] = [{}, { secret: '' }, { secret: undefined }, { secrets: [] }, { secrets: [''] }, { secrets: [SECRET, 7] }, undefined];
    for (const options of bad) {
      let error: unknown;
      try {
        createWebhookHandler(options as WebhookHandlerOptions);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(WebhookVerificationError);
      expect(error).toMatchObject({ code: 'invalid_secret', message: expect.stringContaining('createWebhookHandler needs secret') });
      expect((error as WebhookVerificationError).hint).toContain('MODELRIVER_WEBHOOK_SECRET');
    }
  });

  it('refuses a negative or non-numeric toleranceSec at creation', () => {
    for (const toleranceSec of [-1, Number.NaN, '300']) {
      expect(() => handler({ toleranceSec: toleranceSec as number })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
    }
  });

  it('checks and decodes the secrets once, at creation', async () => {
    const secrets = [SECRET];
    const h = createWebhookHandler({ secrets, now });
    // Were the secrets read per delivery, this would verify against OTHER_SECRET and answer 400.
    secrets[0] = OTHER_SECRET;
    expect((await deliver(h, completedEvent())).status).toBe(200);
  });

  it('can verify with WebCrypto', async () => {
    const onCompleted = vi.fn();
    expect((await deliver(handler({ verify: 'async', onCompleted }), completedEvent())).status).toBe(200);
    expect(onCompleted).toHaveBeenCalledOnce();
  });
});

describe('createWebhookHandler: idempotency', () => {
  it('acknowledges a redelivery (same id, fresh signature) without re-running handlers', async () => {
    const onCompleted = vi.fn();
    const h = handler({ onCompleted });
    expect((await deliver(h, completedEvent())).body).toEqual({ received: true });
    expect((await deliver(h, completedEvent(), NOW_SEC + 5)).body).toEqual({ received: true, duplicate: true });
    expect(onCompleted).toHaveBeenCalledOnce();
    await deliver(h, completedEvent({ id: 'evt_other' }));
    expect(onCompleted).toHaveBeenCalledTimes(2);
  });

  it('runs handlers once for concurrent duplicates', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const onCompleted = vi.fn(() => gate);
    const h = handler({ onCompleted });
    const a = deliver(h, completedEvent());
    const b = deliver(h, completedEvent(), NOW_SEC + 1);
    await vi.waitFor(() => expect(onCompleted).toHaveBeenCalled());
    release();
    const results = await Promise.all([a, b]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    expect(results[1]!.body).toEqual({ received: true, duplicate: true });
    expect(onCompleted).toHaveBeenCalledOnce();
  });

  it('forgets ids after the window and evicts the oldest beyond maxEntries', async () => {
    let t = 0;
    const store = createMemoryIdempotencyStore({ ttlMs: 1000, maxEntries: 2, now: () => t });
    store.add('a');
    t = 999;
    expect(store.has('a')).toBe(true);
    t = 1000;
    expect(store.has('a')).toBe(false);
    store.add('b');
    store.add('c');
    store.add('d');
    expect([store.has('b'), store.has('c'), store.has('d')]).toEqual([false, true, true]);
  });

  it('refuses a maxEntries or ttlMs that would make the store unbounded or forgetful', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN, Infinity]) {
      expect(() => createMemoryIdempotencyStore({ maxEntries }), String(maxEntries)).toThrow(
        expect.objectContaining({ name: 'ModelRiverError', code: 'invalid_argument', message: expect.stringContaining('maxEntries') }),
      );
    }
    for (const ttlMs of [0, -5, Number.NaN, Infinity, '60000']) {
      expect(() => createMemoryIdempotencyStore({ ttlMs: ttlMs as number }), String(ttlMs)).toThrow(
        expect.objectContaining({ name: 'ModelRiverError', code: 'invalid_argument', message: expect.stringContaining('ttlMs') }),
      );
    }
    expect(() => createMemoryIdempotencyStore({ maxEntries: 1, ttlMs: 0.5 })).not.toThrow();
  });

  it('uses an injected store, or none', async () => {
    const ids: string[] = [];
    const store = { has: async (id: string) => ids.includes(id), add: async (id: string) => void ids.push(id) };
    const onCompleted = vi.fn();
    const h = handler({ store, onCompleted });
    await deliver(h, completedEvent());
    await deliver(h, completedEvent());
    expect(ids).toEqual(['evt_completed_1']);
    expect(onCompleted).toHaveBeenCalledOnce();
    const noDedupe = handler({ store: false, onCompleted });
    await deliver(noDedupe, completedEvent());
    await deliver(noDedupe, completedEvent());
    expect(onCompleted).toHaveBeenCalledTimes(3);
  });
});

describe('createWebhookHandler: event-driven callbacks', () => {
  it('posts what onAiGenerated returns to the callback BEFORE answering 200', async () => {
    api.route('post', `/v1/callback/${channel}`, okCallback);
    const h = handler({
      client: client(),
      onAiGenerated: (e) => ({ data: { ...(e.ai_response.data as object), enriched: true }, task_id: 'task_1', metadata: { by: 'test' } }),
    });
    const result = await deliver(h, ai);
    expect(result.status).toBe(200);
    expect(api.recorded).toHaveLength(1);
    expect(JSON.parse(api.recorded[0]!.body)).toEqual({ data: { answer: 42, enriched: true }, task_id: 'task_1', metadata: { by: 'test' } });
    expect(api.recorded[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(api.recorded[0]!.headers['idempotency-key']).toBe('callback_evt_ai_1');
  });

  it('retries the callback with the same idempotency key', async () => {
    api.route('post', `/v1/callback/${channel}`, () => new HttpResponse(null, { status: 502 }), () => HttpResponse.error(), okCallback);
    const h = handler({ client: client(), onAiGenerated: () => ({ data: 1 }) });
    expect((await deliver(h, ai)).status).toBe(200);
    expect(api.recorded.map((r) => r.headers['idempotency-key'])).toEqual(Array(3).fill('callback_evt_ai_1'));
  });

  it('posts a generic {error:"backend_error", message} when onAiGenerated throws, keeps the detail for onError, and answers 200', async () => {
    api.route('post', `/v1/callback/${channel}`, okCallback);
    const onError = vi.fn();
    const h = handler({
      client: client(),
      onError,
      onAiGenerated: () => {
        throw new Error('inventory service down at 10.0.0.7');
      },
    });
    expect((await deliver(h, ai)).status).toBe(200);
    // What the gateway gets ends up as the end user's error: the exception's text must not.
    expect(JSON.parse(api.recorded[0]!.body)).toEqual({ error: 'backend_error', message: 'The backend could not complete this request.' });
    expect(api.recorded[0]!.body).not.toContain('10.0.0.7');
    expect(onError).toHaveBeenCalledOnce();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'inventory service down at 10.0.0.7' }), expect.objectContaining({ id: 'evt_ai_1' }));
  });

  it('answers 500 and posts nothing when onAiGenerated throws a transient error; the redelivery runs it again', async () => {
    api.route('post', `/v1/callback/${channel}`, okCallback);
    const onError = vi.fn();
    let runs = 0;
    const h = handler({
      client: client(),
      onError,
      onAiGenerated: () => {
        if (++runs === 1) throw Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' });
        return { data: { run: runs } };
      },
    });
    const first = await deliver(h, ai);
    expect(first).toMatchObject({ status: 500, body: { error: { code: 'handler_error' } } });
    expect(JSON.stringify(first.body)).not.toContain('10.0.0.7');
    expect(api.recorded).toHaveLength(0);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'ECONNREFUSED' }), expect.objectContaining({ id: 'evt_ai_1' }));
    expect((await deliver(h, ai, NOW_SEC + 5)).status).toBe(200);
    expect(runs).toBe(2);
    expect(api.recorded.map((r) => JSON.parse(r.body))).toEqual([{ data: { run: 2 } }]);
  });

  it('lets a thrown error say whether it is transient with `retryable`', async () => {
    api.route('post', `/v1/callback/${channel}`, okCallback);
    const retryable = handler({
      client: client(),
      onAiGenerated: () => {
        throw Object.assign(new Error('lock held'), { retryable: true });
      },
    });
    expect((await deliver(retryable, ai)).status).toBe(500);
    expect(api.recorded).toHaveLength(0);
    const final = handler({
      client: client(),
      onAiGenerated: () => {
        throw Object.assign(new Error('gave up'), { code: 'ETIMEDOUT', retryable: false });
      },
    });
    expect((await deliver(final, ai)).status).toBe(200);
    expect(JSON.parse(api.recorded[0]!.body)).toMatchObject({ error: 'backend_error' });
  });

  it('treats a result without data as a backend error, reported to onError as a ModelRiverError', async () => {
    api.route('post', `/v1/callback/${channel}`, okCallback);
    const onError = vi.fn();
    const h = handler({ client: client(), onError, onAiGenerated: () => ({ nope: 1 }) as unknown as { data: unknown } });
    await deliver(h, ai);
    expect(JSON.parse(api.recorded[0]!.body)).toMatchObject({ error: 'backend_error' });
    const reported: unknown = onError.mock.calls[0]?.[0];
    expect(reported).toBeInstanceOf(ModelRiverError);
    expect(reported).toMatchObject({ code: 'invalid_callback_result', message: expect.stringContaining('onAiGenerated must return') });
  });

  it('answers 500 when the callback cannot be posted; the redelivery posts the SAME result without re-running onAiGenerated', async () => {
    api.route('post', `/v1/callback/${channel}`, () => new HttpResponse(null, { status: 503 }));
    let runs = 0;
    const h = handler({ client: client(), onAiGenerated: () => ({ data: { run: ++runs } }) });
    expect((await deliver(h, ai)).status).toBe(500);
    expect(api.recorded).toHaveLength(3);
    api.reset();
    api.route('post', `/v1/callback/${channel}`, okCallback);
    expect((await deliver(h, ai, NOW_SEC + 60)).status).toBe(200);
    expect(runs).toBe(1);
    expect(JSON.parse(api.recorded[0]!.body)).toEqual({ data: { run: 1 } });
    expect((await deliver(h, ai, NOW_SEC + 90)).body).toEqual({ received: true, duplicate: true });
  });

  it('acknowledges when the gateway refuses the callback with 409 (no longer awaiting one)', async () => {
    api.route('post', `/v1/callback/${channel}`, () =>
      HttpResponse.json({ error: { code: 'invalid_state', message: 'not awaiting a callback' } }, { status: 409 }),
    );
    const onError = vi.fn();
    const h = handler({ client: client(), onError, onAiGenerated: () => ({ data: 1 }) });
    expect((await deliver(h, ai)).status).toBe(200);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ code: 'invalid_state' }), expect.anything());
  });

  it('posts nothing when onAiGenerated returns undefined', async () => {
    const h = handler({ client: client(), onAiGenerated: () => undefined });
    expect((await deliver(h, ai)).status).toBe(200);
    expect(api.recorded).toHaveLength(0);
  });

  it('never sends the API key to a foreign callback_url', async () => {
    api.route('post', `/v1/callback/${channel}`, okCallback);
    const foreign = aiGeneratedEvent('http://attacker.test/');
    const h = handler({ client: client(), onAiGenerated: () => ({ data: 1 }) });
    expect((await deliver(h, foreign)).status).toBe(200);
    expect(api.recorded[0]!.url).toBe(`${BASE}/v1/callback/${channel}`);
  });

  it('refuses onAiGenerated without a client at creation', () => {
    expect(() => handler({ onAiGenerated: () => ({ data: 1 }) })).toThrow(/client/);
  });

  it('refuses task.ai_generated with 501 when there is no onAiGenerated, runs nothing, and tells onError why', async () => {
    const onEvent = vi.fn();
    const onError = vi.fn();
    const h = handler({ client: client(), onEvent, onError, onCompleted: vi.fn() });
    const result = await deliver(h, ai);
    // A 2xx here would leave the end user waiting for a callback until callback_timeout.
    expect(result).toMatchObject({ status: 501, body: { error: { code: 'ai_generated_unhandled', message: expect.stringContaining('onAiGenerated') } } });
    expect(onEvent).not.toHaveBeenCalled();
    expect(api.recorded).toHaveLength(0);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ name: 'ModelRiverError', code: 'ai_generated_unhandled' }), expect.objectContaining({ id: 'evt_ai_1' }));
    // Not recorded as handled: once the endpoint is fixed, the redelivery is handled.
    expect((await deliver(h, ai, NOW_SEC + 5)).status).toBe(501);
  });

  it('without onError, says once on console.warn why task.ai_generated deliveries are refused', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const h = handler();
      expect((await deliver(h, ai)).status).toBe(501);
      expect((await deliver(h, ai, NOW_SEC + 5)).status).toBe(501);
      expect(warn).toHaveBeenCalledOnce();
      expect(String(warn.mock.calls[0]![0])).toContain('onAiGenerated');
    } finally {
      warn.mockRestore();
    }
  });
});

describe('createWebhookHandler: event types it does not know', () => {
  const unknownEvent = { id: 'evt_new_1', type: 'task.cancelled', channel_id: channel, reason: 'user' };

  it('acknowledges a verified event of an unknown type and hands it to onUnknownEvent, once', async () => {
    const onUnknownEvent = vi.fn();
    const onEvent = vi.fn();
    const h = handler({ onUnknownEvent, onEvent });
    const first = await h.handle(signedDelivery(JSON.stringify(unknownEvent), { id: unknownEvent.id }));
    expect(first).toMatchObject({ status: 200, body: { received: true } });
    expect(onUnknownEvent).toHaveBeenCalledOnce();
    expect(onUnknownEvent.mock.calls[0]![0]).toEqual(unknownEvent);
    expect(onUnknownEvent.mock.calls[0]![1]).toEqual({ verified: { scheme: 'standard', matchedSecretIndex: 0, timestamp: NOW_SEC, webhookId: 'evt_new_1' } });
    expect(onEvent).not.toHaveBeenCalled();
    const again = await h.handle(signedDelivery(JSON.stringify(unknownEvent), { id: unknownEvent.id, timestampSec: NOW_SEC + 5 }));
    expect(again.body).toEqual({ received: true, duplicate: true });
    expect(onUnknownEvent).toHaveBeenCalledOnce();
  });

  it('acknowledges it without onUnknownEvent too', async () => {
    const result = await handler().handle(signedDelivery(JSON.stringify(unknownEvent), { id: unknownEvent.id }));
    expect(result).toMatchObject({ status: 200, body: { received: true } });
  });

  it('answers 500 when onUnknownEvent throws, so the gateway redelivers', async () => {
    const onError = vi.fn();
    let runs = 0;
    const h = handler({
      onError,
      onUnknownEvent: () => {
        if (++runs === 1) throw new Error('queue full');
      },
    });
    expect((await h.handle(signedDelivery(JSON.stringify(unknownEvent)))).status).toBe(500);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'queue full' }), undefined);
    expect((await h.handle(signedDelivery(JSON.stringify(unknownEvent), { timestampSec: NOW_SEC + 5 }))).status).toBe(200);
    expect(runs).toBe(2);
  });

  it('still verifies first, and still refuses a known type with a bad shape or a body without id', async () => {
    const onUnknownEvent = vi.fn();
    const h = handler({ onUnknownEvent });
    const d = signedDelivery(JSON.stringify(unknownEvent));
    expect((await h.handle({ body: d.body, headers: signedDelivery(JSON.stringify(unknownEvent), { secret: OTHER_SECRET }).headers })).body).toMatchObject({
      error: { code: 'bad_signature' },
    });
    for (const body of [
      '{"id":"x","type":"task.ai_generated","channel_id":"c"}',
      '{"type":"task.cancelled"}',
      '{"id":"x","type":42}',
      '{"id":"x","type":""}',
      '[1,2]',
      'not json',
    ]) {
      const result = await h.handle(signedDelivery(body));
      expect(result, body).toMatchObject({ status: 400, body: { error: { code: 'invalid_body' } } });
    }
    expect(onUnknownEvent).not.toHaveBeenCalled();
  });
});
