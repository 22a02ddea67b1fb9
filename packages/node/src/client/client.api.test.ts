import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY, BASE, mockApi } from '../../test/support/api-mock.js';
import { ModelRiverError } from '@modelriver/client';
import { InvalidRequestError } from './errors.js';
import { ModelRiver } from './model-river.js';

const api = mockApi();
beforeAll(api.listen);
afterEach(() => {
  api.reset();
  vi.unstubAllEnvs();
});
afterAll(api.close);

const body = { workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], metadata: { user: 'u1' } };
const echo = (status = 200) => async (req: Request) => HttpResponse.json({ got: await req.clone().text(), status: 'ok' }, { status });
const mr = () => new ModelRiver({ apiKey: API_KEY, baseUrl: BASE });

describe('ModelRiver methods', () => {
  it('ai.async posts the body to /v1/ai/async', async () => {
    api.route('post', '/v1/ai/async', echo(202));
    const ack = await mr().ai.async(body);
    expect(JSON.parse((ack as unknown as { got: string }).got)).toEqual(body);
    expect(api.recorded[0]).toMatchObject({ method: 'POST', url: `${BASE}/v1/ai/async` });
    expect(api.recorded[0]!.headers['content-type']).toBe('application/json');
  });

  it('ai.sync posts to /v1/ai', async () => {
    api.route('post', '/v1/ai', echo());
    await mr().ai.sync(body);
    expect(api.recorded[0]!.url).toBe(`${BASE}/v1/ai`);
  });

  it('ai.reconnect posts {channel_id} to /v1/ai/reconnect', async () => {
    api.route('post', '/v1/ai/reconnect', echo());
    await mr().ai.reconnect('c-1');
    expect(JSON.parse(api.recorded[0]!.body)).toEqual({ channel_id: 'c-1' });
  });

  it('callback and callbackError post to /v1/callback/{id}', async () => {
    api.route('post', '/v1/callback/c%2F1', echo());
    await mr().callback('c/1', { data: { a: 1 }, task_id: 't1', metadata: { m: 2 } });
    await mr().callbackError('c/1', { error: 'backend_error', message: 'down' });
    expect(api.recorded.map((r) => JSON.parse(r.body))).toEqual([
      { data: { a: 1 }, task_id: 't1', metadata: { m: 2 } },
      { error: 'backend_error', message: 'down' },
    ]);
  });

  it('callback uses a same-origin callback_url, never a foreign one', async () => {
    api.route('post', '/prefix/v1/callback/c1', echo());
    api.route('post', '/v1/callback/c1', echo());
    await mr().callback('c1', { data: 1 }, { url: `${BASE}/prefix/v1/callback/c1` });
    await mr().callback('c1', { data: 1 }, { url: 'http://evil.test/v1/callback/c1' });
    expect(api.recorded.map((r) => r.url)).toEqual([`${BASE}/prefix/v1/callback/c1`, `${BASE}/v1/callback/c1`]);
  });

  it('requests.get reads /v1/requests/{id} with GET and no Idempotency-Key', async () => {
    api.route('get', '/v1/requests/c1', () => HttpResponse.json({ channel_id: 'c1', workflow: 'chat', timeline: [] }));
    const log = await mr().requests.get('c1');
    expect(log).toMatchObject({ channel_id: 'c1', workflow: 'chat' });
    expect(api.recorded[0]!.method).toBe('GET');
    expect(api.recorded[0]!.headers['idempotency-key']).toBeUndefined();
  });

  it('accepts a base URL with a trailing slash or /v1', async () => {
    api.route('post', '/v1/ai', echo());
    await new ModelRiver({ apiKey: API_KEY, baseUrl: `${BASE}/` }).ai.sync(body);
    await new ModelRiver({ apiKey: API_KEY, baseUrl: `${BASE}/v1/` }).ai.sync(body);
    expect(api.recorded.map((r) => r.url)).toEqual([`${BASE}/v1/ai`, `${BASE}/v1/ai`]);
  });

  it('reads MODELRIVER_API_KEY and MODELRIVER_BASE_URL from the environment', async () => {
    vi.stubEnv('MODELRIVER_API_KEY', 'mr_test_env');
    vi.stubEnv('MODELRIVER_BASE_URL', BASE);
    api.route('post', '/v1/ai', echo());
    await new ModelRiver().ai.sync(body);
    expect(api.recorded[0]!.headers.authorization).toBe('Bearer mr_test_env');
  });

  it('refuses to start without a key, or with a bad base URL', () => {
    vi.stubEnv('MODELRIVER_API_KEY', '');
    expect(() => new ModelRiver({ baseUrl: BASE })).toThrow(expect.objectContaining({ code: 'missing_api_key' }));
    expect(() => new ModelRiver({ apiKey: API_KEY, baseUrl: 'not a url' })).toThrow(ModelRiverError);
  });

  it('refuses bad arguments before sending anything', async () => {
    const client = mr();
    await expect(client.ai.reconnect('')).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(client.requests.get(undefined as unknown as string)).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(client.callback('c1', undefined as unknown as { data: unknown })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(client.callbackError('c1', { error: 'x' } as unknown as { error: string; message: string })).rejects.toMatchObject({
      code: 'invalid_argument',
    });
    await expect(client.ai.async(null as unknown as typeof body)).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(client.ai.sync(body, { timeoutMs: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(client.ai.sync(body, { maxRetries: -1 })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(api.recorded).toHaveLength(0);
  });
});
