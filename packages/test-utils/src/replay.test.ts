import type { ServerEvent } from './wire-types.js';
import { describe, expect, it } from 'vitest';
import { planDelivery } from './replay.js';

const tok = (seq: number, delta: string): ServerEvent => ({ event: 'tokens', payload: { seq, delta } });
const status = (seq: number): ServerEvent => ({ event: 'status', payload: { seq, status: 'processing' } });

describe('planDelivery', () => {
  it('merges each run of consecutive tokens into one frame covering first_seq..seq', () => {
    const events = [status(1), tok(2, 'a'), tok(3, 'b'), tok(4, 'c'), status(5), tok(6, 'd'), tok(7, 'e')];
    expect(planDelivery(events, true)).toEqual([
      status(1),
      { event: 'tokens', payload: { seq: 4, first_seq: 2, delta: 'abc' } },
      status(5),
      { event: 'tokens', payload: { seq: 7, first_seq: 6, delta: 'de' } },
    ]);
  });

  it('leaves a lone tokens event as it was (no first_seq)', () => {
    expect(planDelivery([status(1), tok(2, 'a'), status(3)], true)).toEqual([status(1), tok(2, 'a'), status(3)]);
  });

  it('returns the events unchanged without merge', () => {
    const events = [tok(1, 'a'), tok(2, 'b')];
    expect(planDelivery(events, false)).toEqual(events);
  });
});
