/**
 * Bytes that are not HTTP/1.1 the server can parse (a bad request line, an oversized header block,
 * Content-Length together with Transfer-Encoding, …) and requests that take too long to arrive are
 * reported by node:http's `clientError` event, before any request handler runs. They get the API's
 * JSON error shape like every other refusal, then the connection is closed.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../errors.js';

interface Refusal {
  status: number;
  code: string;
  message: string;
}

/**
 * The answer to a `clientError`, from the parser's (or the server's) error code.
 *
 * @example
 * ```ts
 * refusalFor('HPE_HEADER_OVERFLOW').status; // 431
 * ```
 */
export function refusalFor(errorCode: string | undefined, reason = ''): Refusal {
  const both = { status: 400, code: ErrorCode.malformedRequest, message: 'Content-Length and Transfer-Encoding cannot both be sent' };
  switch (errorCode) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: ErrorCode.headersTooLarge, message: 'the request headers are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: ErrorCode.requestTimeout, message: 'the request did not arrive in time' };
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return both;
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { status: 400, code: ErrorCode.malformedRequest, message: 'the Content-Length header is invalid' };
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // llhttp reports the pair under either code, depending on which header came first.
      if (/content-length/i.test(reason)) return both;
      return { status: 400, code: ErrorCode.malformedRequest, message: 'the Transfer-Encoding header is invalid' };
    default:
      return { status: 400, code: ErrorCode.malformedRequest, message: 'the request is not valid HTTP/1.1' };
  }
}

/**
 * Creates the `clientError` listener. `responseOf` tells whether a request on that socket already
 * has a response under way: then a second status line would corrupt it, so the socket is only closed.
 *
 * @example
 * ```ts
 * server.on('clientError', createClientErrorHandler((socket) => inFlight.get(socket)));
 * ```
 */
export function createClientErrorHandler(
  responseOf: (socket: Duplex) => ServerResponse | undefined,
): (err: Error & { code?: string; reason?: string }, socket: Duplex) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable || responseOf(socket)?.headersSent === true) {
      socket.destroy();
      return;
    }
    const refusal = refusalFor(err.code, typeof err.reason === 'string' ? err.reason : '');
    const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
    // The socket is destroyed once the answer is flushed: nothing more is read from a peer that
    // could not even send valid HTTP.
    socket.once('finish', () => socket.destroy());
    socket.end(
      `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\nConnection: close\r\n\r\n' +
        body,
    );
  };
}
