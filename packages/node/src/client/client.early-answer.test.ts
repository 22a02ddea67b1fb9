/**
 * A server that answers before it has read the whole upload (a 413 for a body over its limit)
 * and then closes: over real sockets on 127.0.0.1, because the point is what Node's fetch sees.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, InvalidRequestError } from './errors.js';
import { ModelRiver } from './model-river.js';

const API_KEY = 'mr_test_early_answer';
const TWO_MIB = 2 * 1024 * 1024;
const bigBody = { workflow: 'chat', messages: [{ role: 'user', content: 'x'.repeat(TWO_MIB) }] };

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const s of sockets) s.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function listen(s: Server): Promise<string> {
  server = s;
  s.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/**
 * Answers each request, as soon as its first bytes arrive, with `head` (and `body`), then
 * closes its side. It keeps reading and discarding the upload, so the client never meets a
 * reset: what the client sees depends only on the bytes sent, in order, not on timing.
 */
function earlyAnswerServer(head: string, body: string): { server: Server; requests: () => number } {
  let requests = 0;
  const s = createTcpServer((socket) => {
    socket.once('data', () => {
      requests++;
      socket.end(`${head}\r\n\r\n${body}`);
    });
    socket.on('error', () => {});
    socket.resume();
  });
  return { server: s, requests: () => requests };
}

const client = (baseUrl: string) => new ModelRiver({ apiKey: API_KEY, baseUrl, maxRetries: 2, sleep: async () => {}, random: () => 0 });

describe('a server that answers before the upload is done', () => {
  it('a 413 whose body is cut off by the close surfaces as the 413, sent once (no re-upload)', async () => {
    // Content-Length promises more than is sent before the close: fetch resolves with the status, then reading the body fails.
    const { server: s, requests } = earlyAnswerServer(
      'HTTP/1.1 413 Payload Too Large\r\ncontent-type: application/json\r\ncontent-length: 200\r\nconnection: close',
      '{"error":{"code":"body_too_large","mess',
    );
    const err = await client(await listen(s)).ai.async(bigBody).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err).toMatchObject({ status: 413, code: 'http_413', message: expect.stringContaining('cut off') });
    expect(requests()).toBe(1);
  });

  it('a complete early 413 from node:http is the InvalidRequestError with the server\'s code, sent once', async () => {
    let requests = 0;
    const s = createHttpServer((req, res) => {
      requests++;
      // Answer without reading the body, like a gateway refusing a declared Content-Length.
      res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify({ error: { code: 'body_too_large', message: 'the request body exceeds the limit of 1048576 bytes' } }));
      req.resume();
    });
    const err = await client(await listen(s)).ai.async(bigBody).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err).toMatchObject({ status: 413, code: 'body_too_large' });
    expect(requests).toBe(1);
  });

  it('a 2xx whose body is cut off stays a ConnectionError, retried with the same Idempotency-Key', async () => {
    const keys: string[] = [];
    let requests = 0;
    const s = createTcpServer((socket) => {
      let head = '';
      const onData = (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const match = /\r\nidempotency-key: ([^\r]+)\r\n/i.exec(head);
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        requests++;
        keys.push(match?.[1] ?? '');
        socket.end('HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{"message":');
      };
      socket.on('data', onData);
      socket.on('error', () => {});
    });
    const err = await client(await listen(s)).ai.async({ workflow: 'chat', messages: [] }).catch((e: unknown) => e);
    // The gateway may have accepted the request: only a retry with the same key can tell.
    expect(err).toBeInstanceOf(ConnectionError);
    expect(requests).toBe(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).not.toBe('');
  });
});
