/**
 * Request bodies: read with the size limit enforced while the bytes arrive (a declared
 * Content-Length over the limit is refused before reading anything), then parsed as JSON.
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, GatewayError } from '../errors.js';

/**
 * Reads the whole body, failing with 413 `body_too_large` as soon as it exceeds `limit` bytes
 * (nothing past the limit is buffered).
 *
 * @example
 * ```ts
 * const bytes = await readBody(req, 1024 * 1024);
 * ```
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const tooLarge = (): GatewayError =>
    new GatewayError(413, ErrorCode.bodyTooLarge, `the request body exceeds the limit of ${limit} bytes`);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (): void => {
      cleanup();
      reject(new GatewayError(400, ErrorCode.invalidRequest, 'the request body was interrupted'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

/**
 * Parses a body as JSON; empty or malformed → 400 `invalid_json`.
 *
 * @example
 * ```ts
 * const body = parseJson(await readBody(req, limit));
 * ```
 */
export function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new GatewayError(400, ErrorCode.invalidJson, 'the request body is empty; send a JSON object');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new GatewayError(400, ErrorCode.invalidJson, `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * True when a Content-Type names JSON (`application/json`, `application/*+json`), or is absent.
 *
 * @example
 * ```ts
 * isJsonContentType('application/json; charset=utf-8'); // true
 * ```
 */
export function isJsonContentType(header: string | undefined): boolean {
  if (header === undefined || header.trim() === '') return true;
  const type = header.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}
