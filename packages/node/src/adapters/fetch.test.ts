import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY, BASE, mockApi } from '../../test/support/api-mock.js';
import { NOW_MS, SECRET, aiGeneratedEvent, completedEvent, signedDelivery } from '../../test/support/webhook-fixtures.js';
import { ModelRiver } from '../client/model-river.js';
import { createFetchWebhookHandler } from './fetch.js';

const api = mockApi();
beforeAll(api.listen);
afterEach(api.reset);
afterAll(api.close);

const now = () => NOW_MS;
const request = (body: BodyInit | null, headers: Record<string, string>, method = 'POST') =>
  new Request('http://receiver.test/api/webhooks', { method, body, headers });

describe('createFetchWebhookHandler', () => {
  it('verifies a Request and answers a Response', async () => {
    const onCompleted = vi.fn();
    const handle = createFetchWebhookHandler({ secret: SECRET, now, onCompleted });
    const d = signedDelivery(completedEvent());
    const res = await handle(request(d.body, d.headers));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ received: true });
    expect(onCompleted).toHaveBeenCalledOnce();
  });

  it('answers 200 to a verified event of an unknown type (bytes from the Request) and hands it to onUnknownEvent', async () => {
    const onUnknownEvent = vi.fn();
    const handle = createFetchWebhookHandler({ secret: SECRET, now, onUnknownEvent, verify: 'async' });
    const d = signedDelivery(JSON.stringify({ id: 'evt_new_1', type: 'task.cancelled', channel_id: 'c1' }));
    const res = await handle(request(d.body, d.headers));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true });
    expect(onUnknownEvent).toHaveBeenCalledWith(expect.objectContaining({ id: 'evt_new_1', type: 'task.cancelled' }), expect.anything());
  });

  it('answers 400 with the code on a bad signature', async () => {
    const handle = createFetchWebhookHandler({ secret: SECRET, now });
    const d = signedDelivery(completedEvent());
    const res = await handle(request(`${d.body} `, d.headers));
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'bad_signature' } });
  });

  it('answers 500 body_already_parsed when the body was read first (Next.js: body read once)', async () => {
    const handle = createFetchWebhookHandler({ secret: SECRET, now });
    const d = signedDelivery(completedEvent());
    const req = request(d.body, d.headers);
    await req.json();
    const res = await handle(req);
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: { code: 'body_already_parsed', hint: expect.stringContaining('once') } });
  });

  it('answers 413 on a declared Content-Length above maxBodyBytes, without reading the body', async () => {
    const handle = createFetchWebhookHandler({ secret: SECRET, now, maxBodyBytes: 32 });
    const d = signedDelivery(completedEvent());
    // The body itself is under the limit: only the declared length can trip it (read, it would be a 400 bad_signature).
    const req = request('{"tiny":1}', { ...d.headers, 'content-length': '1000' });
    expect(req.headers.get('content-length')).toBe('1000');
    const res = await handle(req);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'body_too_large' } });
    expect(req.bodyUsed).toBe(false);
  });

  it('answers 413 above maxBodyBytes while reading a body with no Content-Length', async () => {
    const handle = createFetchWebhookHandler({ secret: SECRET, now, maxBodyBytes: 32 });
    const d = signedDelivery(completedEvent());
    // A string body gets no content-length header from `new Request`: the limit trips while reading.
    const plain = request(d.body, d.headers);
    expect(plain.headers.get('content-length')).toBeNull();
    expect((await handle(plain)).status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 4; i++) c.enqueue(new TextEncoder().encode('z'.repeat(20)));
        c.close();
      },
    });
    const streamed = await handle(new Request('http://receiver.test/', { method: 'POST', body: stream, headers: d.headers, duplex: 'half' } as RequestInit));
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it('verifies on node:crypto by default where it exists, and on WebCrypto with verify: "async"', async () => {
    const d = signedDelivery(completedEvent());
    const sync = createFetchWebhookHandler({ secret: SECRET, now, store: false });
    const async = createFetchWebhookHandler({ secret: SECRET, now, store: false, verify: 'async' });
    expect((await async(request(d.body, d.headers))).status).toBe(200);
    // Without WebCrypto only the node:crypto path can verify: the default still answers 200.
    vi.stubGlobal('crypto', {});
    try {
      expect((await sync(request(d.body, d.headers))).status).toBe(200);
      const res = await async(request(d.body, d.headers));
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: { code: 'unsupported_runtime' } });
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('refuses a missing or empty secret at creation with invalid_secret', () => {
    for (const options of [{}, { secret: '' }, { secrets: [] }]) {
      expect(() => createFetchWebhookHandler(options as never), JSON.stringify(options)).toThrow(expect.objectContaining({ code: 'invalid_secret' }));
    }
  });

  it('answers 405 to anything but POST', async () => {
    const res = await createFetchWebhookHandler({ secret: SECRET, now })(request(null, {}, 'GET'));
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('posts the AI callback before answering, like the core handler', async () => {
    const event = aiGeneratedEvent(BASE);
    api.route('post', `/v1/callback/${event.channel_id}`, () => HttpResponse.json({ status: 'ok' }));
    const handle = createFetchWebhookHandler({
      secret: SECRET,
      now,
      client: new ModelRiver({ apiKey: API_KEY, baseUrl: BASE }),
      onAiGenerated: () => ({ data: { ok: true } }),
    });
    const d = signedDelivery(event);
    expect((await handle(request(d.body, d.headers))).status).toBe(200);
    expect(JSON.parse(api.recorded[0]!.body)).toEqual({ data: { ok: true } });
  });
});
