/**
 * Stream digest extension: the gateway puts `last_seq` and `content_sha256` on the terminal
 * `response` and on every webhook of the request, so a backend can tell whether the text a
 * browser rendered from the stream is the text the webhook delivered.
 *
 * Not part of the `@modelriver/node/webhooks` entry: that entry has a size budget and no
 * `node:` builtin, and checking a digest is a backend's job, where `node:crypto` exists.
 */
import { ModelRiverError } from '@modelriver/client/errors';
import { loadNodeCrypto } from './webhooks/node-crypto.js';

/** The digest fields of a webhook body or of a `response` payload; both types fit. */
export interface StreamDigestFields {
  /** Lowercase hex SHA-256 of the UTF-8 bytes of the response's `content`. */
  content_sha256?: string;
  /** The channel's last seq (the seq of the response the digest belongs to). */
  last_seq?: number;
}

/** Input of {@link verifyStreamDigest}. */
export interface VerifyStreamDigestInput {
  /** The text the browser rendered (the concatenated `tokens`, or the response's `content`). */
  text: string;
  /** The verified webhook (or the `response` payload) carrying the digest. */
  event: StreamDigestFields;
  /** The last seq the browser saw; when given, it must equal `event.last_seq`. */
  lastSeq?: number;
}

/** Why a text does not match: a stable code. */
export type StreamDigestFailureCode = 'digest_mismatch' | 'seq_mismatch' | 'digest_missing';

/** Result of {@link verifyStreamDigest}: a mismatch is a result, not an exception. */
export type StreamDigestResult = { ok: true } | { ok: false; code: StreamDigestFailureCode; message: string };

const HEX_SHA256 = /^[0-9a-f]{64}$/i;

function invalid(message: string): ModelRiverError {
  return new ModelRiverError('invalid_argument', message);
}

function isSeq(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/**
 * Lowercase hex SHA-256 of the UTF-8 bytes of `text`: the `content_sha256` a gateway that
 * implements the stream digest extension computes over a response's `content`. A lone UTF-16
 * surrogate is encoded as U+FFFD, as `TextEncoder` and `Buffer.from(text)` do.
 *
 * Throws `ModelRiverError` `invalid_argument` when `text` is not a string, and
 * `unsupported_runtime` on a runtime without `node:crypto`.
 *
 * @example
 * ```ts
 * import { contentDigest } from '@modelriver/node';
 *
 * contentDigest('Hello'); // '185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969'
 * ```
 */
export function contentDigest(text: string): string {
  if (typeof text !== 'string') throw invalid(`contentDigest needs a string, got ${describe(text)}.`);
  const crypto = loadNodeCrypto();
  if (!crypto) throw new ModelRiverError('unsupported_runtime', 'contentDigest needs node:crypto (Node, Bun, Deno).');
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Checks a text the browser rendered (and the last seq it saw) against the digest of a verified
 * webhook (or of the `response` payload). Returns `{ ok: true }`, or `{ ok: false, code, message }`:
 * - `digest_missing`: the event has no `content_sha256` (or no `last_seq` while `lastSeq` is
 *   given): the gateway does not implement the stream digest extension;
 * - `seq_mismatch`: the browser's last seq is not the event's `last_seq` (it stopped early, or
 *   compares against another response of the channel);
 * - `digest_mismatch`: the texts differ.
 *
 * Arguments of the wrong type (a non-string `text`, an `event` that is not an object, a seq that
 * is not a non-negative integer, a `content_sha256` that is not 64 hex digits) throw
 * `ModelRiverError` `invalid_argument`.
 *
 * @example
 * ```ts
 * import { verifyStreamDigest } from '@modelriver/node';
 *
 * // `webhook`: the verified task.completed body stored for this channel.
 * const check = verifyStreamDigest({ text: req.body.text, lastSeq: req.body.lastSeq, event: webhook });
 * if (!check.ok) console.warn(`channel ${webhook.channel_id}: ${check.code}: ${check.message}`);
 * ```
 */
export function verifyStreamDigest(input: VerifyStreamDigestInput): StreamDigestResult {
  if (typeof input !== 'object' || input === null) throw invalid(`verifyStreamDigest needs { text, event, lastSeq? }, got ${describe(input)}.`);
  const { text, event, lastSeq } = input;
  if (typeof text !== 'string') throw invalid(`verifyStreamDigest: text must be a string, got ${describe(text)}.`);
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw invalid(`verifyStreamDigest: event must be the webhook or response object, got ${describe(event)}.`);
  }
  if (lastSeq !== undefined && !isSeq(lastSeq)) throw invalid(`verifyStreamDigest: lastSeq must be an integer >= 0, got ${String(lastSeq)}.`);
  // Typed, but read as unknown: the event comes from JSON, so its fields are checked like arguments.
  const rawDigest: unknown = event.content_sha256;
  const rawSeq: unknown = event.last_seq;
  if (rawDigest !== undefined && (typeof rawDigest !== 'string' || !HEX_SHA256.test(rawDigest))) {
    throw invalid(`verifyStreamDigest: event.content_sha256 must be 64 hex digits, got ${JSON.stringify(rawDigest) ?? String(rawDigest)}.`);
  }
  if (rawSeq !== undefined && !isSeq(rawSeq)) throw invalid(`verifyStreamDigest: event.last_seq must be an integer >= 0, got ${String(rawSeq)}.`);
  const expected = (rawDigest as string | undefined)?.toLowerCase();
  const eventSeq = rawSeq as number | undefined;

  if (expected === undefined) {
    return { ok: false, code: 'digest_missing', message: 'The event has no content_sha256: its gateway does not implement the stream digest extension.' };
  }
  if (lastSeq !== undefined) {
    if (eventSeq === undefined) {
      return { ok: false, code: 'digest_missing', message: 'The event has no last_seq to compare lastSeq with.' };
    }
    // Checked before the text: a browser that stopped early differs in both, and the seq says why.
    if (lastSeq !== eventSeq) {
      return { ok: false, code: 'seq_mismatch', message: `The browser's last seq is ${lastSeq}, the event's last_seq ${eventSeq}.` };
    }
  }
  // A plain comparison: the digest is of content the browser already has, not a secret, so a
  // timing difference reveals nothing (unlike a signature, which needs a constant-time compare).
  const actual = contentDigest(text);
  if (actual !== expected) {
    return {
      ok: false,
      code: 'digest_mismatch',
      message: `The text (${text.length} UTF-16 units) does not match the event's content_sha256: its SHA-256 is ${actual}, the event's ${expected}.`,
    };
  }
  return { ok: true };
}
