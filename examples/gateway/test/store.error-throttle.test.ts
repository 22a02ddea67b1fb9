/**
 * The store error throttle: one full report per kind per window, the repeats counted and told in
 * one line, bounded memory. The clock is injected; nothing here waits on real time.
 */
import { describe, expect, it } from 'vitest';
import { createErrorThrottle, errorKind, type ErrorThrottleOptions } from '../src/store/error-throttle.js';

function setup(options: Partial<ErrorThrottleOptions> = {}) {
  let time = 1_000_000;
  const reported: unknown[] = [];
  const lines: string[] = [];
  const throttle = createErrorThrottle({
    report: (error) => reported.push(error),
    summarize: (line) => lines.push(line),
    now: () => time,
    ...options,
  });
  return {
    throttle,
    reported,
    lines,
    advance: (ms: number) => {
      time += ms;
    },
  };
}

const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('errorKind', () => {
  it('is the code if a string, else the message, else the text', () => {
    expect(errorKind(refused())).toBe('ECONNREFUSED');
    expect(errorKind(Object.assign(new Error('closed'), { code: 42 }))).toBe('closed');
    expect(errorKind(new Error('Connection is closed.'))).toBe('Connection is closed.');
    expect(errorKind('plain text')).toBe('plain text');
    expect(errorKind(undefined)).toBe('undefined');
    expect(errorKind(Object.create(null))).toBe('[object Object]');
    expect(errorKind(new Error('x'.repeat(5_000)))).toHaveLength(200);
  });
});

describe('createErrorThrottle', () => {
  it('reports the first error of a kind in full and only counts its repeats within the window', () => {
    const { throttle, reported, lines, advance } = setup();
    const first = refused();
    throttle.report(first);
    for (let i = 0; i < 500; i++) {
      advance(10);
      throttle.report(refused());
    }
    expect(reported).toEqual([first]);
    expect(lines).toEqual([]);
  });

  it('tells how many were counted when the next one comes after the window, and reports that one in full', () => {
    const { throttle, reported, lines, advance } = setup({ windowMs: 10_000 });
    throttle.report(refused());
    advance(1_000);
    throttle.report(refused());
    throttle.report(refused());
    advance(9_500); // 10.5 s after the first
    const late = refused();
    throttle.report(late);
    expect(lines).toEqual(['ECONNREFUSED: … and 2 more like it in the last 11 s']);
    expect(reported).toHaveLength(2);
    expect(reported[1]).toBe(late);
    // A new window opened with that report.
    advance(5_000);
    throttle.report(refused());
    expect(reported).toHaveLength(2);
  });

  it('writes no count line when nothing was counted', () => {
    const { throttle, reported, lines, advance } = setup({ windowMs: 10_000 });
    throttle.report(refused());
    advance(10_000);
    throttle.report(refused());
    throttle.flush();
    expect(reported).toHaveLength(2);
    expect(lines).toEqual([]);
  });

  it('keeps kinds apart', () => {
    const { throttle, reported, lines } = setup();
    const closed = new Error('Connection is closed.');
    throttle.report(refused());
    throttle.report(closed);
    throttle.report(refused());
    throttle.report(new Error('Connection is closed.'));
    throttle.report(new Error('Connection is closed.'));
    expect(reported).toEqual([expect.objectContaining({ code: 'ECONNREFUSED' }), closed]);
    throttle.flush();
    expect(lines).toEqual([
      'ECONNREFUSED: … and 1 more like it in the last 1 s',
      'Connection is closed.: … and 2 more like it in the last 1 s',
    ]);
  });

  it('tells the counts on flush, then starts afresh', () => {
    const { throttle, reported, lines, advance } = setup();
    throttle.report(refused());
    advance(3_000);
    throttle.report(refused());
    throttle.flush();
    expect(lines).toEqual(['ECONNREFUSED: … and 1 more like it in the last 3 s']);
    throttle.flush();
    expect(lines).toHaveLength(1);
    throttle.report(refused());
    expect(reported).toHaveLength(2);
  });

  it('remembers at most maxKinds kinds, forgetting the least recently seen and telling its count first', () => {
    const { throttle, reported, lines } = setup({ maxKinds: 3 });
    for (const kind of ['a', 'b', 'c']) throttle.report(new Error(kind));
    throttle.report(new Error('a')); // counted; 'a' is now the most recent, 'b' the oldest
    throttle.report(new Error('b')); // counted; 'c' is the oldest
    throttle.report(new Error('d')); // forgets 'c' (nothing counted: no line)
    expect(lines).toEqual([]);
    throttle.report(new Error('e')); // forgets 'a', which had one repeat
    expect(lines).toEqual(['a: … and 1 more like it in the last 1 s']);
    throttle.report(new Error('c')); // forgotten, so reported in full again
    expect(reported.map((e) => (e as Error).message)).toEqual(['a', 'b', 'c', 'd', 'e', 'c']);
  });

  it('stays bounded under a flood of distinct kinds', () => {
    const { throttle, reported, lines } = setup({ maxKinds: 100 });
    for (let i = 0; i < 10_000; i++) throttle.report(new Error(`unique ${i}`));
    expect(reported).toHaveLength(10_000);
    // Only the last 100 are remembered: a repeat of one of those is counted, an older one reported again.
    throttle.report(new Error('unique 9999'));
    throttle.report(new Error('unique 0'));
    expect(reported).toHaveLength(10_001);
    expect(lines).toEqual([]);
    throttle.flush();
    expect(lines).toEqual(['unique 9999: … and 1 more like it in the last 1 s']);
  });
});
