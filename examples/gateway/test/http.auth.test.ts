import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { api, ask } from './e2e.helpers.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0, additionalApiKeys: ['mr_test_second'] });
});
afterAll(() => gw.close());

describe('authentication comes first', () => {
  it('answers 401 unauthorized without a key, whatever the body', async () => {
    const answer = await api(gw, '/v1/ai/async', undefined, { apiKey: null, rawBody: '{not json at all' });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: { code: 'unauthorized', message: expect.stringContaining('API key') } });
    expect(answer.headers.get('www-authenticate')).toBe('Bearer');
  });

  it('answers 401 for a wrong key even when the body is valid', async () => {
    const answer = await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi') }, { apiKey: 'mr_test_wrong_key' });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('unauthorized');
  });

  it('answers 401 before 404 on unknown endpoints and before 413 on huge bodies', async () => {
    expect((await api(gw, '/v1/nope', undefined, { apiKey: null })).status).toBe(401);
    const huge = 'x'.repeat(2 * 1024 * 1024);
    expect((await api(gw, '/v1/ai/async', undefined, { apiKey: null, rawBody: huge })).status).toBe(401);
  });

  it('rejects a malformed Authorization header', async () => {
    const answer = await api(gw, '/v1/requests/x', undefined, { apiKey: null, headers: { authorization: `Basic ${gw.apiKey}` } });
    expect(answer.status).toBe(401);
  });

  it('accepts every configured key', async () => {
    const answer = await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi') }, { apiKey: 'mr_test_second' });
    expect(answer.status).toBe(202);
  });

  it('serves /health without a key', async () => {
    const answer = await api(gw, '/health', undefined, { apiKey: null });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: 'ok' });
  });

  it('answers 404 not_found for an unknown endpoint and 405 for a wrong method once authenticated', async () => {
    const missing = await api(gw, '/v1/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    const wrong = await api(gw, '/v1/ai/async', undefined, { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.body.error.code).toBe('method_not_allowed');
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('keeps the connection usable after an early 401 on a request with an unread body', async () => {
    const first = await api(gw, '/v1/ai/async', undefined, { apiKey: null, rawBody: 'y'.repeat(100_000) });
    expect(first.status).toBe(401);
    const second = await api(gw, '/health', undefined, { apiKey: null });
    expect(second.status).toBe(200);
  });
});
