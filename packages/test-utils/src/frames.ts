/**
 * Frame encoding for the fake gateway. Deliberately tiny and independent of the
 * client's serializer: the fake must not share a bug with the code it tests.
 */
import type { Frame } from './wire-types.js';

/** The topic heartbeats travel on (Phoenix's socket-level topic). */
export const PHOENIX_TOPIC = 'phoenix';

/**
 * Encodes a frame as the JSON array Phoenix v2 expects.
 *
 * @example
 * encodeFrame([null, '1', 'phoenix', 'heartbeat', {}]); // '[null,"1","phoenix","heartbeat",{}]'
 */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}

function isRef(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/**
 * Decodes one text frame; returns `null` for anything that is not a 5-element
 * array `[join_ref|null, ref|null, topic, event, payload]`. Never throws.
 *
 * @example
 * decodeFrame('[null,"1","phoenix","heartbeat",{}]'); // [null, '1', 'phoenix', 'heartbeat', {}]
 * decodeFrame('not json'); // null
 */
export function decodeFrame(raw: string): Frame | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 5) return null;
  const [joinRef, ref, topic, event, payload] = parsed as unknown[];
  if (!isRef(joinRef) || !isRef(ref) || typeof topic !== 'string' || typeof event !== 'string') return null;
  return [joinRef, ref, topic, event, payload];
}

/**
 * Builds a `phx_reply` frame answering the push `(joinRef, ref)` on `topic`.
 *
 * @example
 * replyFrame(null, '7', 'phoenix', 'ok', {}); // [null, '7', 'phoenix', 'phx_reply', {status: 'ok', response: {}}]
 */
export function replyFrame(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  status: 'ok' | 'error',
  response: unknown,
): Frame {
  return [joinRef, ref, topic, 'phx_reply', { status, response }];
}

/** A frame a client sent, as the gateway recorded it. */
export interface RecordedFrame {
  /** `FakeConnection.id` of the sender. */
  connectionId: number;
  /** The text as received (binary messages are decoded as UTF-8 and never parsed). */
  raw: string;
  /** The decoded frame, or `null` when it could not be decoded (and was dropped). */
  frame: Frame | null;
  /** The gateway clock's time of arrival. */
  at: number;
}
