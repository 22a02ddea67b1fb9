/**
 * Raw HTTP/1.1 over a net.Socket to 127.0.0.1, for what fetch cannot send (malformed requests,
 * bodies written after the answer was read) and for watching exactly when the server closes.
 */
import { connect, type Socket } from 'node:net';
import type { RunningGateway } from '../src/gateway.js';

/** One parsed HTTP response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A connection that parses the responses arriving on it. */
export interface RawConnection {
  socket: Socket;
  /** The next complete response (Content-Length framed). */
  response(): Promise<RawResponse>;
  /** Writes and resolves once the bytes are handed to the kernel, or rejects with the socket error. */
  write(data: string | Buffer): Promise<void>;
  /** Resolves once the server has closed the connection, with the error it ended with, if any. */
  closed: Promise<{ error: NodeJS.ErrnoException | null }>;
}

/**
 * Opens a raw connection to the gateway.
 *
 * @example
 * ```ts
 * const conn = await rawConnect(gw);
 * await conn.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
 * (await conn.response()).status; // 200
 * ```
 */
export async function rawConnect(gw: RunningGateway): Promise<RawConnection> {
  const url = new URL(gw.url);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  let waiter: (() => void) | null = null;
  let lastError: NodeJS.ErrnoException | null = null;
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    waiter?.();
  });
  socket.on('error', (err) => {
    lastError = err;
  });
  const closed = new Promise<{ error: NodeJS.ErrnoException | null }>((resolve) => {
    socket.once('close', () => {
      waiter?.();
      resolve({ error: lastError });
    });
  });

  function tryParse(): RawResponse | null {
    const end = buffer.indexOf('\r\n\r\n');
    if (end === -1) return null;
    const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (buffer.length < end + 4 + length) return null;
    const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    buffer = buffer.subarray(end + 4 + length);
    return { status: Number(statusLine?.split(' ')[1]), headers, body };
  }

  return {
    socket,
    closed,
    response() {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const parsed = tryParse();
          if (parsed) {
            waiter = null;
            resolve(parsed);
          } else if (socket.destroyed) {
            waiter = null;
            reject(new Error(`connection closed before a full response (${lastError?.code ?? 'no error'}): ${buffer.toString('latin1').slice(0, 200)}`));
          }
        };
        waiter = check;
        check();
      });
    },
    write(data) {
      return new Promise((resolve, reject) => {
        socket.write(data, (err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
