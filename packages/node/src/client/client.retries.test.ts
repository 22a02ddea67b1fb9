import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, BASE, mockApi } from '../../test/support/api-mock.js';
import { APIError, ConnectionError, InvalidRequestError, ServerError } from './errors.js';
import { ModelRiver, type ModelRiverOptions } from './model-river.js';

const api = mockApi();
beforeAll(api.listen);
afterEach(api.reset);
afterAll(api.close);

const ack = {
  message: 'success',
  status: 'pending',
  channel_id: 'c1',
  project_id: 'p1',
  ws_token: 't',
  websocket_url: 'ws://x/socket',
  websocket_channel: 'ai_response:p1:c1',
  customer_data: {},
};
const body = { workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }] };
const fail = (status: number, code = 'oops', headers?: Record<string, string>) => () =>
  HttpResponse.json({ error: { code, message: `failed ${status}` } }, { status, headers });
const ok = () => HttpResponse.json(ack, { status: 202 });

/** A client whose waits are recorded and skipped, so retries run without real time passing. */
function client(extra: ModelRiverOptions = {}) {
  const waits: number[] = [];
  const mr = new ModelRiver({
    apiKey: API_KEY,
    baseUrl: BASE,
    random: () => 0.5,
    sleep: async (ms) => {
      waits.push(ms);
    },
    ...extra,
  });
  return { mr, waits };
}

describe('retries', () => {
  it.each([429, 500, 502, 503, 504, 408, 409])('retries a %i and returns the later success', async (status) => {
    api.route('post', '/v1/ai/async', fail(status), ok);
    const { mr } = client();
    await expect(mr.ai.async(body)).resolves.toEqual(ack);
    expect(api.recorded).toHaveLength(2);
  });

  it('retries connection errors', async () => {
    api.route('post', '/v1/ai/async', () => HttpResponse.error(), () => HttpResponse.error(), ok);
    const { mr } = client();
    await expect(mr.ai.async(body)).resolves.toEqual(ack);
    expect(api.recorded).toHaveLength(3);
  });

  it('gives up after maxRetries with the last error, typed', async () => {
    api.route('post', '/v1/ai/async', fail(503, 'unavailable'));
    const { mr, waits } = client();
    const err = await mr.ai.async(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(err).toMatchObject({ status: 503, code: 'unavailable' });
    expect(api.recorded).toHaveLength(3); // 1 + maxRetries (2)
    expect(waits).toHaveLength(2);
  });

  it('gives up on connection errors with ConnectionError', async () => {
    api.route('post', '/v1/ai/async', () => HttpResponse.error());
    const { mr } = client({ maxRetries: 1 });
    const err = await mr.ai.async(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'connection_error', status: undefined });
    expect(api.recorded).toHaveLength(2);
  });

  it('honours maxRetries per call, over the client default', async () => {
    api.route('post', '/v1/ai/async', fail(500));
    const { mr } = client({ maxRetries: 5 });
    await expect(mr.ai.async(body, { maxRetries: 0 })).rejects.toBeInstanceOf(ServerError);
    expect(api.recorded).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 413, 422])('does not retry a %i', async (status) => {
    api.route('post', '/v1/ai/async', fail(status), ok);
    const { mr } = client();
    await expect(mr.ai.async(body)).rejects.toBeInstanceOf(APIError);
    expect(api.recorded).toHaveLength(1);
  });

  it('a 409 that persists ends as InvalidRequestError', async () => {
    api.route('post', '/v1/callback/c1', fail(409, 'invalid_state'));
    const { mr } = client();
    const err = await mr.callback('c1', { data: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err).toMatchObject({ status: 409, code: 'invalid_state' });
  });

  it('sends the SAME Idempotency-Key and the same body bytes on every attempt of one call', async () => {
    api.route('post', '/v1/ai/async', fail(500), () => HttpResponse.error(), ok);
    const { mr } = client();
    await mr.ai.async(body);
    const keys = api.recorded.map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(api.recorded.map((r) => r.body)).size).toBe(1);
    expect(JSON.parse(api.recorded[0]!.body)).toEqual(body);
  });

  it('uses a given Idempotency-Key, and a fresh one for each call', async () => {
    api.route('post', '/v1/ai/async', fail(500), ok);
    const { mr } = client();
    await mr.ai.async(body, { idempotencyKey: 'order-42' });
    expect(api.recorded.map((r) => r.headers['idempotency-key'])).toEqual(['order-42', 'order-42']);
    api.reset();
    api.route('post', '/v1/ai/async', ok);
    await mr.ai.async(body);
    await mr.ai.async(body);
    const [a, b] = api.recorded.map((r) => r.headers['idempotency-key']);
    expect(a).not.toBe(b);
  });

  it('uses an injected idempotency key generator', async () => {
    api.route('post', '/v1/ai/async', ok);
    let n = 0;
    const { mr } = client({ idempotencyKey: () => `key-${++n}` });
    await mr.ai.async(body);
    expect(api.recorded[0]!.headers['idempotency-key']).toBe('key-1');
  });

  it('waits with exponential backoff and full jitter between attempts', async () => {
    api.route('post', '/v1/ai/async', fail(500));
    const { mr, waits } = client({ maxRetries: 4, random: () => 0.5 });
    await mr.ai.async(body).catch(() => undefined);
    // random 0.5 × min(8 000, 500·2^n)
    expect(waits).toEqual([250, 500, 1000, 2000]);
    const jittered = client({ maxRetries: 2, random: () => 0 });
    api.reset();
    api.route('post', '/v1/ai/async', fail(500));
    await jittered.mr.ai.async(body).catch(() => undefined);
    expect(jittered.waits).toEqual([0, 0]);
  });
});
