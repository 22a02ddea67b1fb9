import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, pushFrame, replyFrame } from '../src/channels/frames.js';
import { isUuid, parseTopic } from '../src/channels/topic.js';

describe('decodeClientFrame', () => {
  it('decodes a Phoenix v2 frame', () => {
    expect(decodeClientFrame(Buffer.from('["1","2","t","phx_join",{"last_seq":3}]'), false, 1024)).toEqual({
      ok: true,
      frame: ['1', '2', 't', 'phx_join', { last_seq: 3 }],
    });
  });

  it('accepts integer refs, as Phoenix does, as strings', () => {
    expect(decodeClientFrame('[1,2,"t","e",{}]', false, 1024)).toEqual({ ok: true, frame: ['1', '2', 't', 'e', {}] });
  });

  it.each([
    ['not json', 'malformed_frame'],
    ['{}', 'malformed_frame'],
    ['[1.5,"2","t","e",{}]', 'malformed_frame'],
    ['[null,"2",3,"e",{}]', 'malformed_frame'],
    ['[null,null,"t","e"]', 'malformed_frame'],
    ['[null,null,"t","",{}]', 'malformed_frame'],
  ])('drops %s as %s', (text, expected) => {
    expect(decodeClientFrame(Buffer.from(text), false, 1024)).toEqual({ ok: false, code: expected });
  });

  it('drops binary and oversize frames before parsing them', () => {
    expect(decodeClientFrame(Buffer.from('[null,null,"t","e",{}]'), true, 1024)).toEqual({ ok: false, code: 'binary_frame' });
    expect(decodeClientFrame(Buffer.alloc(1025, 0x20), false, 1024)).toEqual({ ok: false, code: 'frame_too_large' });
    // Size is counted in UTF-8 bytes, not characters.
    expect(decodeClientFrame(`[null,null,"${'é'.repeat(400)}","e",{}]`, false, 800)).toEqual({ ok: false, code: 'frame_too_large' });
  });

  it('never throws, whatever the input (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array().map((a) => Buffer.from(a))), fc.boolean(), (data, binary) => {
        const result = decodeClientFrame(typeof data === 'string' ? data : data, binary, 4096);
        expect(typeof result.ok).toBe('boolean');
      }),
    );
  });
});

describe('encoding', () => {
  it('builds pushes and replies that parse back to the expected frames', () => {
    expect(JSON.parse(pushFrame('"1"', '"a:b"', 'tokens', '{"seq":1,"delta":"x"}'))).toEqual([
      '1',
      null,
      'a:b',
      'tokens',
      { seq: 1, delta: 'x' },
    ]);
    expect(JSON.parse(replyFrame('1', '2', 't', 'error', { reason: 'not_found' }))).toEqual([
      '1',
      '2',
      't',
      'phx_reply',
      { status: 'error', response: { reason: 'not_found' } },
    ]);
  });
});

describe('topics', () => {
  it('accepts ai_response:{uuid}:{uuid} only', () => {
    const a = '6f1d2c3b-4a5e-4f60-8b71-92a3b4c5d6e7';
    const b = '00000000-0000-4000-8000-000000000000';
    expect(parseTopic(`ai_response:${a}:${b}`)).toEqual({ projectId: a, channelId: b });
    expect(parseTopic(`ai_response:${a}`)).toBeNull();
    expect(parseTopic(`ai_responses:${a}:${b}`)).toBeNull();
    expect(parseTopic(`ai_response:${a}:${b}x`)).toBeNull();
    expect(isUuid(a.toUpperCase())).toBe(true);
    expect(isUuid(`${a}0`)).toBe(false);
  });
});
