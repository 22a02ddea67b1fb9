import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { post } from '../../test/support/http.js';
import { NOW_MS, SECRET, completedEvent, signedDelivery } from '../../test/support/webhook-fixtures.js';
import { createWebhookHandler } from '../handler/webhook-handler.js';
import { fastifyWebhookPlugin } from './fastify.js';

const now = () => NOW_MS;
let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function start(bodyLimit?: number) {
  const onCompleted = vi.fn();
  app = Fastify();
  await app.register(fastifyWebhookPlugin, {
    prefix: '/webhooks/modelriver',
    handler: createWebhookHandler({ secret: SECRET, now, onCompleted }),
    bodyLimit,
  });
  // Outside the plugin, JSON parsing is untouched.
  app.post('/other', async (request) => ({ parsed: request.body }));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return { base, onCompleted };
}

describe('fastifyWebhookPlugin', () => {
  it('verifies the raw bytes and answers through the handler', async () => {
    const { base, onCompleted } = await start();
    const d = signedDelivery(completedEvent({ content: 'spaced   "json" — ü' }));
    expect(await post(`${base}/webhooks/modelriver`, d.body, d.headers)).toEqual({ status: 200, body: { received: true } });
    expect(onCompleted).toHaveBeenCalledWith(expect.objectContaining({ content: 'spaced   "json" — ü' }), expect.anything());
    expect((await post(`${base}/webhooks/modelriver`, d.body, d.headers)).body).toEqual({ received: true, duplicate: true });
  });

  it('verifies a pretty-printed body byte for byte (no parse and re-serialise on the way)', async () => {
    const { base } = await start();
    const d = signedDelivery(JSON.stringify(completedEvent(), null, 2));
    expect((await post(`${base}/webhooks/modelriver`, d.body, d.headers)).status).toBe(200);
  });

  it('answers a bad signature with 400 {error:{code}}', async () => {
    const { base, onCompleted } = await start();
    const d = signedDelivery(completedEvent());
    const res = await post(`${base}/webhooks/modelriver`, d.body.replace('Hello', 'Jello'), d.headers);
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'bad_signature' } } });
    expect(onCompleted).not.toHaveBeenCalled();
  });

  it('accepts any content type (the parser is raw) and keeps JSON parsing outside its scope', async () => {
    const { base } = await start();
    const d = signedDelivery(completedEvent());
    expect((await post(`${base}/webhooks/modelriver`, d.body, { ...d.headers, 'content-type': 'text/plain' })).status).toBe(200);
    expect((await post(`${base}/other`, '{"a":1}', { 'content-type': 'application/json' })).body).toEqual({ parsed: { a: 1 } });
  });

  it('answers 413 body_too_large above bodyLimit', async () => {
    const { base } = await start(64);
    const d = signedDelivery(completedEvent());
    expect(await post(`${base}/webhooks/modelriver`, d.body, d.headers)).toMatchObject({ status: 413, body: { error: { code: 'body_too_large' } } });
  });

  it('refuses to register without a handler', async () => {
    app = Fastify();
    await expect(app.register(fastifyWebhookPlugin, {} as never).ready()).rejects.toMatchObject({ code: 'invalid_options' });
  });
});
