import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { api, ask } from './e2e.helpers.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe('body size limit', () => {
  it('refuses a declared Content-Length over the limit with 413 body_too_large', async () => {
    gw = await startGateway({ port: 0, bodyLimitBytes: 1024 });
    const answer = await api(gw, '/v1/ai/async', undefined, { rawBody: JSON.stringify({ workflow: 'chat', messages: ask('x'.repeat(2000)) }) });
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('body_too_large');
  });

  it('answers 413 while a chunked body is still streaming in (not after it ends)', async () => {
    gw = await startGateway({ port: 0, bodyLimitBytes: 1024 });
    const url = new URL(`${gw.url}/v1/ai/async`);
    const status = await new Promise<{ code: number; body: string }>((resolve, reject) => {
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${gw!.apiKey}`, 'content-type': 'application/json' } },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => {
            resolve({ code: res.statusCode ?? 0, body });
            req.destroy();
          });
        },
      );
      req.on('error', reject);
      // Chunked (no Content-Length), and never ended: only streaming enforcement can answer.
      req.write('{"workflow":"chat","messages":[{"role":"user","content":"');
      req.write('z'.repeat(4096));
    });
    expect(status.code).toBe(413);
    expect(JSON.parse(status.body).error.code).toBe('body_too_large');
  });

  it('accepts a body just under the limit', async () => {
    gw = await startGateway({ port: 0, bodyLimitBytes: 1024, mockTokenDelayMs: 0 });
    const body = JSON.stringify({ workflow: 'chat', messages: ask('x'.repeat(900)) });
    expect(body.length).toBeLessThan(1024);
    expect((await api(gw, '/v1/ai/async', undefined, { rawBody: body })).status).toBe(202);
  });
});

describe('rate limiting', () => {
  it('answers 429 rate_limited with Retry-After once a key has used its bucket, per key, and refills over time', async () => {
    let clock = 1_000_000;
    gw = await startGateway(
      { port: 0, mockTokenDelayMs: 0, rateLimitCapacity: 2, rateLimitRefillPerSecond: 0.5, additionalApiKeys: ['mr_test_other_key'] },
      { now: () => clock },
    );
    expect((await api(gw, '/v1/requests/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await api(gw, '/v1/requests/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    const limited = await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi') });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    // One token at 0.5/s takes 2 s.
    expect(limited.headers.get('retry-after')).toBe('2');

    // Another key has its own bucket; /health is never limited.
    expect((await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi') }, { apiKey: 'mr_test_other_key' })).status).toBe(202);
    expect((await api(gw, '/health', undefined, { apiKey: null })).status).toBe(200);

    clock += 1000;
    const stillLimited = await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi') });
    expect(stillLimited.status).toBe(429);
    expect(stillLimited.headers.get('retry-after')).toBe('1');
    clock += 1000;
    expect((await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi') })).status).toBe(202);
  });

  it('checks the key before the bucket: unauthenticated requests do not drain it', async () => {
    gw = await startGateway({ port: 0, rateLimitCapacity: 1, rateLimitRefillPerSecond: 0.001 });
    for (let i = 0; i < 3; i++) expect((await api(gw, '/v1/nope', undefined, { apiKey: null })).status).toBe(401);
    expect((await api(gw, '/v1/nope')).status).toBe(404);
    expect((await api(gw, '/v1/nope')).status).toBe(429);
  });
});
