import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGateway } from './fake-gateway.js';
import { RawClient } from './raw-client.js';

let gw: FakeGateway;

beforeEach(async () => {
  gw = await FakeGateway.start();
});
afterEach(async () => {
  await gw.close();
});

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${gw.httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('reconnect route', () => {
  it.each(['/v1/ai/reconnect', '/api/v1/ai/reconnect'])('POST %s issues a fresh single-use token that connects', async (path) => {
    const ch = gw.createChannel();
    const res = await post(path, { channel_id: ch.channelId });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ws_token: string };
    expect(body).toEqual({
      channel_id: ch.channelId,
      project_id: gw.projectId,
      ws_token: expect.stringMatching(/^wst_/),
      websocket_url: gw.url,
      websocket_channel: ch.topic,
    });
    expect(body.ws_token).not.toBe(ch.wsToken);
    const client = await RawClient.connect(gw.socketUrl(body.ws_token));
    expect(await client.join(ch.topic)).toMatchObject({ status: 'ok' });
    client.close();
    expect(gw.httpRequests).toEqual([{ method: 'POST', path, body: { channel_id: ch.channelId }, status: 200, at: expect.any(Number) }]);
  });

  it('answers 404 not_found for an unknown channel and 400 for a bad body', async () => {
    const unknown = await post('/v1/ai/reconnect', { channel_id: '0b8f8a52-3f7e-4b0e-8d0a-6f3c2a1b9c7d' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    for (const body of ['{nope', { channel: 'x' }, { channel_id: 5 }]) {
      const bad = await post('/v1/ai/reconnect', body);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'invalid_body', message: expect.stringContaining('channel_id') } });
    }
  });

  it('fails with reconnectFailure while it is set', async () => {
    const ch = gw.createChannel();
    gw.reconnectFailure = { status: 503, code: 'unavailable' };
    const res = await post('/v1/ai/reconnect', { channel_id: ch.channelId });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'unavailable' } });
  });

  it('answers unknown routes 404 and /health ok', async () => {
    expect((await fetch(`${gw.httpUrl}/nope`)).status).toBe(404);
    expect(await (await fetch(`${gw.httpUrl}/health`)).json()).toEqual({ status: 'ok' });
  });
});
