/**
 * Phoenix v2 JSON frames as the hub reads and writes them. Decoding is the client package's
 * `decodeFrame` (one validator for both ends); encoding is specialized here because the hub sends
 * one payload to many sockets and splices it rather than re-serializing it.
 */
import { decodeFrame, type Frame } from '@modelriver/client';

/** Largest client frame the hub parses; anything longer is dropped unread. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/** Why a client frame was dropped. */
export type FrameDropCode = 'binary_frame' | 'frame_too_large' | 'malformed_frame';

/** Result of {@link decodeClientFrame}. */
export type ClientFrameResult = { ok: true; frame: Frame } | { ok: false; code: FrameDropCode };

/**
 * Decodes one client message. Never throws: anything that is not a JSON text
 * `[join_ref, ref, topic, event, payload]` (refs string, integer or null; topic and event strings)
 * comes back as `{ok: false, code}`; the caller drops it and keeps the socket open.
 *
 * @example
 * ```ts
 * const r = decodeClientFrame(Buffer.from('[null,"1","phoenix","heartbeat",{}]'), false, 65536);
 * if (r.ok) console.log(r.frame[3]); // 'heartbeat'
 * ```
 */
export function decodeClientFrame(data: Buffer | string, isBinary: boolean, maxBytes: number): ClientFrameResult {
  // Phoenix v2 binary frames are server broadcasts; a client has no business sending one.
  if (isBinary) return { ok: false, code: 'binary_frame' };
  const result = decodeFrame(data, maxBytes);
  if (result.ok) return result;
  return { ok: false, code: result.info.code === 'frame_too_large' ? 'frame_too_large' : 'malformed_frame' };
}

/**
 * A server push, built by concatenation so that the payload's JSON (encoded once per event and
 * shared by every socket) is not re-serialized per recipient. `event` must be a plain identifier.
 *
 * @example
 * ```ts
 * pushFrame('"1"', '"ai_response:p:c"', 'tokens', '{"seq":3,"delta":"hi"}');
 * // '["1",null,"ai_response:p:c","tokens",{"seq":3,"delta":"hi"}]'
 * ```
 */
export function pushFrame(joinRefJson: string, topicJson: string, event: string, payloadJson: string): string {
  return `[${joinRefJson},null,${topicJson},"${event}",${payloadJson}]`;
}

/**
 * A `phx_reply` to the client frame `[join_ref, ref, topic, …]`.
 *
 * @example
 * ```ts
 * replyFrame(null, '7', 'phoenix', 'ok', {}); // '[null,"7","phoenix","phx_reply",{"status":"ok","response":{}}]'
 * ```
 */
export function replyFrame(
  joinRef: string | null,
  ref: string | null,
  topic: string,
  status: 'ok' | 'error',
  response: object,
): string {
  return JSON.stringify([joinRef, ref, topic, 'phx_reply', { status, response }]);
}
