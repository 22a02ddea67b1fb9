import { afterEach, describe, expect, it } from 'vitest';
import { DISCARD_FACTOR } from '../src/http/api.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { rawConnect } from './http.raw.helpers.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const MiB = 1024 * 1024;

function post(path: string, key: string, length: number, extra = ''): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

describe('an answer sent before the body was read (413, 401, 415)', () => {
  it('reaches a real fetch upload of 2 MiB instead of a network error', async () => {
    gw = await startGateway({ port: 0 });
    const body = new Uint8Array(2 * MiB).fill(0x78);
    const tooLarge = await fetch(`${gw.url}/v1/ai/async`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
      body,
    });
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error.code).toBe('body_too_large');

    const badKey = await fetch(`${gw.url}/v1/ai/async`, {
      method: 'POST',
      headers: { authorization: 'Bearer mr_test_not_a_key', 'content-type': 'application/json' },
      body,
    });
    expect(badKey.status).toBe(401);
    expect((await badKey.json()).error.code).toBe('unauthorized');

    const wrongType = await fetch(`${gw.url}/v1/ai/async`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'text/plain' },
      body,
    });
    expect(wrongType.status).toBe(415);
  });

  it('keeps reading after a 413: the rest of the body is accepted and dropped, and the connection stays usable', async () => {
    gw = await startGateway({ port: 0, bodyLimitBytes: 1024 });
    const conn = await rawConnect(gw);
    const total = 4 * 1024; // within the discard bound (8 × the limit)
    await conn.write(post('/v1/ai/async', gw.apiKey, total) + 'x'.repeat(2048));
    const answer = await conn.response();
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('body_too_large');
    // Written only once the answer is in: a server that stopped reading would reset these.
    await conn.write('x'.repeat(total - 2048));
    await conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect((await conn.response()).status).toBe(200);
    conn.socket.destroy();
  });

  it('does the same after a 401 with a bad key', async () => {
    gw = await startGateway({ port: 0, bodyLimitBytes: 1024 });
    const conn = await rawConnect(gw);
    await conn.write(post('/v1/ai/async', 'mr_test_not_a_key', 3000) + 'y'.repeat(1000));
    expect((await conn.response()).status).toBe(401);
    await conn.write('y'.repeat(2000));
    await conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect((await conn.response()).status).toBe(200);
    conn.socket.destroy();
  });

  it('cuts a body larger than the bound once the bound is reached', async () => {
    gw = await startGateway({ port: 0, bodyLimitBytes: 1024 });
    const conn = await rawConnect(gw);
    const bound = 1024 * DISCARD_FACTOR;
    await conn.write(post('/v1/ai/async', gw.apiKey, 100 * bound) + 'z'.repeat(2048));
    expect((await conn.response()).status).toBe(413);
    // Past the bound the server closes; writes then fail, which is the point.
    conn.write('z'.repeat(bound * 2)).catch(() => {});
    await conn.closed;
    expect(conn.socket.bytesWritten).toBeLessThan(100 * bound);
  });
});
