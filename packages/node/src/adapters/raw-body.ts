/**
 * Reading a request body as raw bytes with a size limit, for the adapters: the signature
 * covers the exact bytes, so no adapter may let a parser touch them first.
 */
import { WebhookVerificationError } from '../webhooks/errors.js';

/** Default body size limit of the adapters: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** The `body_too_large` error (413). */
export function bodyTooLarge(limit: number): WebhookVerificationError {
  return new WebhookVerificationError('body_too_large', `The body is larger than the ${limit}-byte limit.`);
}

/** The `invalid_body` error (400) for a body the framework or the stream could not deliver. */
export function unreadableBody(): WebhookVerificationError {
  return new WebhookVerificationError('invalid_body', 'The request body could not be read.');
}

/** A declared `Content-Length` above the limit, so a too-large body can be refused unread. */
export function declaredTooLarge(contentLength: string | null | undefined, limit: number): boolean {
  const n = Number(contentLength);
  return contentLength != null && contentLength !== '' && Number.isFinite(n) && n > limit;
}

/** Reads a Fetch body stream to the end, failing with `body_too_large` as soon as it exceeds `limit`. */
export async function readStreamLimited(stream: ReadableStream<Uint8Array> | null, limit: number): Promise<Uint8Array> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
