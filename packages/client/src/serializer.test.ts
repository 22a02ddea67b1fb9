import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Frame } from './protocol.js';
import { decodeFrame, encodeFrame, MAX_QUOTED_FRAME_CHARS } from './serializer.js';

const MAX = 1 << 20;

describe('encodeFrame', () => {
  it('writes the five-element JSON array', () => {
    expect(encodeFrame(['1', '2', 'ai_response:p:c', 'phx_join', { last_seq: 3 }])).toBe(
      '["1","2","ai_response:p:c","phx_join",{"last_seq":3}]',
    );
    expect(encodeFrame([null, '7', 'phoenix', 'heartbeat', {}])).toBe('[null,"7","phoenix","heartbeat",{}]');
  });

  it('round-trips through decodeFrame', () => {
    const frame: Frame = ['4', null, 't', 'tokens', { seq: 1, delta: 'héllo 👋' }];
    expect(decodeFrame(encodeFrame(frame), MAX)).toEqual({ ok: true, frame });
  });
});

describe('decodeFrame: accepted input', () => {
  const text = '[null,"3","phoenix","phx_reply",{"status":"ok","response":{}}]';

  it('decodes a string', () => {
    const r = decodeFrame(text, MAX);
    expect(r.ok && r.frame[3]).toBe('phx_reply');
  });

  it('decodes a Node Buffer, an ArrayBuffer, a typed array view and Buffer fragments', () => {
    const buf = Buffer.from(text, 'utf8');
    const arrayBuffer = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const padded = new Uint8Array(buf.byteLength + 4);
    padded.set(buf, 2);
    for (const data of [buf, arrayBuffer, padded.subarray(2, 2 + buf.byteLength), [buf.subarray(0, 5), buf.subarray(5)]]) {
      const r = decodeFrame(data, MAX);
      expect(r).toEqual({ ok: true, frame: [null, '3', 'phoenix', 'phx_reply', { status: 'ok', response: {} }] });
    }
  });

  it('coerces integer refs from other servers to strings', () => {
    const r = decodeFrame('[1,2,"t","e",{}]', MAX);
    expect(r).toEqual({ ok: true, frame: ['1', '2', 't', 'e', {}] });
  });

  it('keeps any payload value (the channel layer validates payloads)', () => {
    expect(decodeFrame('[null,null,"t","e",null]', MAX).ok).toBe(true);
    expect(decodeFrame('[null,null,"t","e",[1,2]]', MAX).ok).toBe(true);
  });
});

describe('decodeFrame: refused input', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['non-JSON', '{not json', /not valid JSON/],
    ['an object', '{"a":1}', /must be a JSON array, got object/],
    ['a number', '42', /must be a JSON array, got number/],
    ['four elements', '[null,null,"t","e"]', /5 elements, got 4/],
    ['six elements', '[null,null,"t","e",{},1]', /5 elements, got 6/],
    ['an object join_ref', '[{},null,"t","e",{}]', /join_ref/],
    ['a fractional ref', '[null,1.5,"t","e",{}]', /ref must be/],
    ['a boolean ref', '[null,true,"t","e",{}]', /ref must be/],
    ['a numeric topic', '[null,null,5,"e",{}]', /topic/],
    ['a null event', '[null,null,"t",null,{}]', /event/],
    ['an empty event', '[null,null,"t","",{}]', /event/],
    ['a non-text, non-binary value', 12, /text or binary, got number/],
    ['null', null, /text or binary, got null/],
    ['a plain object', { data: 'x' }, /text or binary, got object/],
  ];
  it.each(cases)('refuses %s as malformed_frame', (_name, data, message) => {
    const r = decodeFrame(data, MAX);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.info.code).toBe('malformed_frame');
      expect(r.info.message).toMatch(message);
    }
  });

  it('quotes the offending text truncated to 512 characters', () => {
    const long = `[${'"x",'.repeat(400)}1]`;
    const r = decodeFrame(long, MAX);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.info.frame).toBe(long.slice(0, MAX_QUOTED_FRAME_CHARS));
  });

  it('refuses an oversize string before parsing it, counting UTF-8 bytes', () => {
    const frame = encodeFrame([null, null, 't', 'tokens', { seq: 1, delta: 'a'.repeat(100) }]);
    expect(decodeFrame(frame, frame.length).ok).toBe(true);
    const r = decodeFrame(frame, frame.length - 1);
    expect(!r.ok && r.info.code).toBe('frame_too_large');
    // 40 characters, 120 UTF-8 bytes: within a character budget, over the byte budget.
    const wide = encodeFrame([null, null, 't', 'tokens', { seq: 1, delta: '€'.repeat(40) }]);
    const bytes = Buffer.byteLength(wide);
    expect(decodeFrame(wide, bytes).ok).toBe(true);
    const r2 = decodeFrame(wide, bytes - 1);
    expect(!r2.ok && r2.info.code).toBe('frame_too_large');
  });

  it('refuses an oversize buffer and quotes at most 512 characters of it', () => {
    const big = Buffer.from(`[null,null,"t","tokens",{"seq":1,"delta":"${'z'.repeat(5000)}"}]`);
    const r = decodeFrame(big, 1000);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.info.code).toBe('frame_too_large');
      expect(r.info.frame.length).toBeLessThanOrEqual(MAX_QUOTED_FRAME_CHARS);
      expect(r.info.message).toMatch(/maxFrameBytes \(1000\)/);
    }
  });
});

/** The reference: what a valid frame is, written independently of the decoder. */
function isValidFrameText(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (!Array.isArray(value) || value.length !== 5) return false;
  const ref = (v: unknown): boolean => v === null || typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v));
  return ref(value[0]) && ref(value[1]) && typeof value[2] === 'string' && typeof value[3] === 'string' && value[3] !== '';
}

describe('decodeFrame properties', () => {
  it('never throws on anything', () => {
    fc.assert(
      fc.property(fc.anything(), (data) => {
        const r = decodeFrame(data, MAX);
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('returns ok exactly for valid frames, for any string', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(decodeFrame(text, MAX).ok).toBe(isValidFrameText(text));
      }),
      { numRuns: 500 },
    );
  });

  it('returns ok exactly for valid frames, for JSON of arbitrary values', () => {
    const element = fc.oneof(fc.constant(null), fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.object());
    fc.assert(
      fc.property(fc.array(element, { minLength: 0, maxLength: 7 }), (items) => {
        const text = JSON.stringify(items);
        const r = decodeFrame(text, MAX);
        expect(r.ok).toBe(isValidFrameText(text));
        if (r.ok) {
          expect(r.frame[2]).toBe(items[2]);
          expect(r.frame[3]).toBe(items[3]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on random bytes, and never accepts more than maxBytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 400 }), (bytes, max) => {
        const r = decodeFrame(bytes, max);
        if (bytes.byteLength > max) expect(!r.ok && r.info.code).toBe('frame_too_large');
        if (r.ok) expect(isValidFrameText(Buffer.from(bytes).toString('utf8'))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
