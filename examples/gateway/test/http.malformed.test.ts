import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { rawConnect, type RawResponse } from './http.raw.helpers.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function send(bytes: string): Promise<RawResponse> {
  const conn = await rawConnect(gw!);
  await conn.write(bytes);
  const answer = await conn.response();
  await conn.closed; // the server hangs up after such an answer
  return answer;
}

function expectJsonError(answer: RawResponse, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  expect(JSON.parse(answer.body)).toEqual({ error: { code, message: expect.any(String) } });
}

describe('malformed HTTP gets the contract error shape', () => {
  it('answers a bad request line with 400 malformed_request', async () => {
    gw = await startGateway({ port: 0 });
    expectJsonError(await send('THIS IS NOT HTTP\r\n\r\n'), 400, 'malformed_request');
  });

  it('answers an oversized header block with 431 headers_too_large', async () => {
    gw = await startGateway({ port: 0 });
    const answer = await send(`GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    expectJsonError(answer, 431, 'headers_too_large');
  });

  it('answers Content-Length together with Transfer-Encoding with 400 malformed_request', async () => {
    gw = await startGateway({ port: 0 });
    const answer = await send(
      `POST /v1/ai/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.apiKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    expectJsonError(answer, 400, 'malformed_request');
    expect(JSON.parse(answer.body).error.message).toMatch(/Content-Length and Transfer-Encoding/);
  });

  it('answers headers that never finish with 408 request_timeout after headersTimeoutMs', async () => {
    gw = await startGateway({ port: 0, headersTimeoutMs: 100, requestTimeoutMs: 5_000 });
    expectJsonError(await send('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n'), 408, 'request_timeout');
  });

  it('answers a body that never finishes with 408 request_timeout after requestTimeoutMs', async () => {
    gw = await startGateway({ port: 0, headersTimeoutMs: 100, requestTimeoutMs: 200 });
    const answer = await send(
      `POST /v1/ai/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${gw.apiKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"workflow":',
    );
    expectJsonError(answer, 408, 'request_timeout');
  });

  it('has short timeout defaults and refuses a headers timeout longer than the request timeout', () => {
    const config = resolveConfig({});
    expect(config.headersTimeoutMs).toBe(10_000);
    expect(config.requestTimeoutMs).toBe(30_000);
    expect(() => resolveConfig({ headersTimeoutMs: 2_000, requestTimeoutMs: 1_000 })).toThrow(ConfigError);
    expect(() => resolveConfig({ headersTimeoutMs: 0 })).toThrow(/headersTimeoutMs/);
  });

  it('still serves well-formed requests on the same server', async () => {
    gw = await startGateway({ port: 0 });
    const conn = await rawConnect(gw);
    await conn.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect((await conn.response()).status).toBe(200);
    conn.socket.destroy();
  });
});
