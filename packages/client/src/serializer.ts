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
  const r = readFrame(data, maxBytes);
  return Array.isArray(r) ? { ok: true, frame: r as Frame } : { ok: false, info: r };
}

/**
 * {@link decodeFrame} without the result wrapper, for the socket's hot path: the
 * frame (the array `JSON.parse` made, refs coerced in place) or what is wrong with it.
 *
 * @example
 * ```ts
 * const f = readFrame('[null,null,"t","tokens",{"seq":1,"delta":"a"}]', 1 << 20);
 * if (Array.isArray(f)) console.log(f[3]); // 'tokens'
 * ```
 */
export function readFrame(data: unknown, maxBytes: number): Frame | ProtocolErrorInfo {
  let text = '';
  try {
    if (typeof data === 'string') {
      text = data;
      // A UTF-16 unit is 1 to 3 UTF-8 bytes: length bounds the byte size from both sides,
      // so the exact count is needed only in the narrow band between them.
      if (data.length > maxBytes || (data.length * 3 > maxBytes && utf8Length(data) > maxBytes)) {
        return tooLarge(data.length, maxBytes, data);
      }
    } else {
      const bytes =
        data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : Array.isArray(data) && data.every((part) => part instanceof Uint8Array)
              ? concat(data as Uint8Array[])
              : null;
      if (bytes === null) return malformed(`frame must be text or binary, got ${kindOf(data)}`, kindOf(data));
      if (bytes.byteLength > maxBytes) return tooLarge(bytes.byteLength, maxBytes, utf8(bytes.subarray(0, MAX_QUOTED_FRAME_CHARS)));
      text = utf8(bytes);
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      return malformed('frame is not valid JSON', text);
    }
    if (!Array.isArray(v)) return malformed(`frame must be a JSON array, got ${kindOf(v)}`, text);
    if (v.length !== 5) return malformed(`frame must have 5 elements, got ${v.length}`, text);
    for (let i = 0; i < 2; i++) {
      const ref: unknown = v[i];
      // Refs are strings or null; integers (from some servers) are coerced to strings.
      if (typeof ref === 'number' && Number.isSafeInteger(ref)) v[i] = String(ref);
      else if (ref !== null && typeof ref !== 'string') return malformed(`frame ${i ? 'ref' : 'join_ref'} must be a string or null`, text);
    }
    if (typeof v[2] !== 'string') return malformed('frame topic must be a string', text);
    if (typeof v[3] !== 'string' || v[3] === '') return malformed('frame event must be a non-empty string', text);
    return v as Frame;
  } catch (error) {
    // Unreachable in practice; a guarantee that hostile input cannot throw out.
    return malformed(`bad frame: ${String(error)}`, text);
  }
}

function malformed(message: string, frame: string): ProtocolErrorInfo {
  return { code: 'malformed_frame', message, frame: frame.slice(0, MAX_QUOTED_FRAME_CHARS) };
}

function tooLarge(size: number, maxBytes: number, quoted: string): ProtocolErrorInfo {
  return {
    code: 'frame_too_large',
    message: `frame of ${size}+ bytes exceeds maxFrameBytes (${maxBytes})`,
    frame: quoted.slice(0, MAX_QUOTED_FRAME_CHARS),
  };
}

function utf8Length(text: string): number {
  let bytes = 0;
  // for…of walks code points: a surrogate pair is one 4-byte character, a lone surrogate 3 bytes.
  for (const ch of text) {
    const c = ch.codePointAt(0) as number;
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return bytes;
}

let decoder: TextDecoder | undefined;

function utf8(bytes: Uint8Array): string {
  // Created on first use: text frames (all Phoenix sends) never need one.
  return (decoder ??= new TextDecoder()).decode(bytes);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * A value as JSON text cut to {@link MAX_QUOTED_FRAME_CHARS}, for error reports;
 * '' when it cannot be serialised.
 *
 * @example
 * ```ts
 * quote(['1', null, 't', 'tokens', { seq: 1, delta: 42 }]); // '["1",null,"t","tokens",{"seq":1,"delta":42}]'
 * ```
 */
export function quote(value: unknown): string {
  try {
    return JSON.stringify(value).slice(0, MAX_QUOTED_FRAME_CHARS);
  } catch {
    return '';
  }
}

/**
 * `null`, `array` or the `typeof`, for messages.
 *
 * @example
 * ```ts
 * kindOf([1]); // 'array'
 * ```
 */
export function kindOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}
