/**
 * Phoenix v2 JSON framing: `[join_ref, ref, topic, event, payload]`.
 * Decoding is the first thing untrusted bytes meet, so it validates the shape,
 * bounds the size before parsing, and never throws.
 */
import type { Frame } from './protocol.js';
import type { ProtocolErrorInfo } from './types.js';

/** How much of an offending frame is quoted in a {@link ProtocolErrorInfo}. */
export const MAX_QUOTED_FRAME_CHARS = 512;

/** Default cap on an incoming frame: 4 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** Result of {@link decodeFrame}. */
export type DecodeResult = { ok: true; frame: Frame } | { ok: false; info: ProtocolErrorInfo };

/**
 * Encodes a frame as the JSON array text Phoenix v2 expects.
 *
 * @example
 * ```ts
 * encodeFrame(['1', '1', 'ai_response:p:c', 'phx_join', { last_seq: 0 }]);
 * // '["1","1","ai_response:p:c","phx_join",{"last_seq":0}]'
 * ```
 */
export function encodeFrame(frame: Frame): string {
  return JSON.stringify(frame);
}

const utf8Decoder: TextDecoder | null = typeof TextDecoder === 'function' ? new TextDecoder('utf-8') : null;

/**
 * Decodes one WebSocket message (a string, an ArrayBuffer, a typed array or a
 * Node Buffer) into a frame. Oversize input is refused before it is parsed.
 * Numeric `join_ref`/`ref` (sent by some servers) are coerced to strings.
 *
 * @example
 * ```ts
 * const r = decodeFrame('[null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]', 1 << 20);
 * if (r.ok) console.log(r.frame[3]); // 'phx_reply'
 * else console.warn(r.info.code);      // e.g. 'malformed_frame'
 * ```
 */
export function decodeFrame(data: unknown, maxBytes: number): DecodeResult {
  try {
    const text = toText(data, maxBytes);
    if (typeof text !== 'string') return { ok: false, info: text };
    return parseFrameText(text);
  } catch (error) {
    // Unreachable in practice; a guarantee that hostile input cannot throw out.
    return fail('malformed_frame', `frame could not be decoded: ${describe(error)}`, safeQuote(data));
  }
}

function toText(data: unknown, maxBytes: number): string | ProtocolErrorInfo {
  if (typeof data === 'string') {
    // A UTF-16 unit is 1 to 3 UTF-8 bytes: length bounds the byte size from both sides,
    // so the exact count is needed only in the narrow band between them.
    if (data.length > maxBytes || (data.length * 3 > maxBytes && utf8Length(data) > maxBytes)) {
      return tooLarge(data.length, maxBytes, data.slice(0, MAX_QUOTED_FRAME_CHARS));
    }
    return data;
  }
  let bytes: Uint8Array | null = null;
  if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else if (Array.isArray(data) && data.every((part) => part instanceof Uint8Array)) bytes = concat(data as Uint8Array[]);
  if (bytes === null) {
    return {
      code: 'malformed_frame',
      message: `frame must be text or binary, got ${kindOf(data)}`,
      frame: safeQuote(data),
    };
  }
  if (bytes.byteLength > maxBytes) {
    return tooLarge(bytes.byteLength, maxBytes, decodeUtf8(bytes.subarray(0, MAX_QUOTED_FRAME_CHARS)));
  }
  return decodeUtf8(bytes);
}

function parseFrameText(text: string): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail('malformed_frame', 'frame is not valid JSON', text);
  }
  if (!Array.isArray(value)) return fail('malformed_frame', `frame must be a JSON array, got ${kindOf(value)}`, text);
  if (value.length !== 5) return fail('malformed_frame', `frame must have 5 elements, got ${value.length}`, text);
  const joinRef = toRef(value[0]);
  if (joinRef === undefined) return fail('malformed_frame', 'frame join_ref must be a string or null', text);
  const ref = toRef(value[1]);
  if (ref === undefined) return fail('malformed_frame', 'frame ref must be a string or null', text);
  const topic: unknown = value[2];
  if (typeof topic !== 'string') return fail('malformed_frame', 'frame topic must be a string', text);
  const event: unknown = value[3];
  if (typeof event !== 'string' || event.length === 0) {
    return fail('malformed_frame', 'frame event must be a non-empty string', text);
  }
  return { ok: true, frame: [joinRef, ref, topic, event, value[4]] };
}

/** string | null, with integers coerced; `undefined` means invalid. */
function toRef(value: unknown): string | null | undefined {
  if (value === null || typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

function fail(code: ProtocolErrorInfo['code'], message: string, raw: string): DecodeResult {
  return { ok: false, info: { code, message, frame: raw.slice(0, MAX_QUOTED_FRAME_CHARS) } };
}

function tooLarge(size: number, maxBytes: number, quoted: string): ProtocolErrorInfo {
  return {
    code: 'frame_too_large',
    message: `frame of at least ${size} bytes exceeds maxFrameBytes (${maxBytes})`,
    frame: quoted.slice(0, MAX_QUOTED_FRAME_CHARS),
  };
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function decodeUtf8(bytes: Uint8Array): string {
  if (utf8Decoder !== null) return utf8Decoder.decode(bytes);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i] ?? 0);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function safeQuote(value: unknown): string {
  try {
    if (typeof value === 'string') return value.slice(0, MAX_QUOTED_FRAME_CHARS);
    return String(kindOf(value));
  } catch {
    return '';
  }
}

function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return 'unknown error';
  }
}
