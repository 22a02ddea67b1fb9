import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, replyFrame } from './frames.js';

describe('frames', () => {
  it('round-trips a frame', () => {
    const frame = ['1', '2', 'ai_response:a:b', 'phx_join', { last_seq: 3 }] as const;
    expect(decodeFrame(encodeFrame([...frame]))).toEqual(frame);
  });

  it.each([
    ['not json', '{oops'],
    ['not an array', '{"a":1}'],
    ['wrong arity', '[null,"1","phoenix","heartbeat"]'],
    ['numeric ref', '[null,1,"phoenix","heartbeat",{}]'],
    ['non-string topic', '[null,"1",5,"heartbeat",{}]'],
    ['non-string event', '[null,"1","phoenix",null,{}]'],
  ])('returns null for %s', (_name, raw) => {
    expect(decodeFrame(raw)).toBeNull();
  });

  it('builds phx_reply frames', () => {
    expect(replyFrame('j', 'r', 't', 'error', { reason: 'x' })).toEqual(['j', 'r', 't', 'phx_reply', { status: 'error', response: { reason: 'x' } }]);
  });
});
