import { describe, expect, it } from 'vitest';
import { createPartialJson } from './partial-json.js';
import type { ServerEvent } from './protocol.js';
import { applyAction, applyEvent, initialStreamState, reduceStream, snapshotOf, type StreamAction } from './stream-state.js';
import type { StreamState } from './types.js';

/** Feeds `chunks` one by one and returns the value after each. */
function values(chunks: string[], containersOnly?: boolean): unknown[] {
  const json = createPartialJson(containersOnly);
  return chunks.map((chunk) => {
    json.feed(chunk);
    return json.value();
  });
}

describe('createPartialJson', () => {
  it('shows an object growing key by key, a string growing by prefixes', () => {
    expect(values(['{"re', 'ply": "Hel', 'lo", "tags": ["a', '", "b"]', '}'])).toEqual([
      {},
      { reply: 'Hel' },
      { reply: 'Hello', tags: ['a'] },
      { reply: 'Hello', tags: ['a', 'b'] },
      { reply: 'Hello', tags: ['a', 'b'] },
    ]);
  });

  it('adds a key only once its value has started', () => {
    expect(values(['{"name"', ':', ' ', '"', 'x'])).toEqual([{}, {}, {}, { name: '' }, { name: 'x' }]);
  });

  it('shows a number once the character after it arrives, literals once spelled out', () => {
    expect(values(['[1', '2', ',', 'tr', 'ue', ',nul', 'l,-0.5e', '1]'])).toEqual([
      [],
      [],
      [12],
      [12],
      [12, true],
      [12, true],
      [12, true, null],
      [12, true, null, -5],
    ]);
  });

  it('decodes escapes, including \\u escapes split across chunks and surrogate pairs', () => {
    const json = createPartialJson();
    for (const chunk of ['"a\\', 'n\\"\\/\\u00', 'e9\\ud83d', '\\ude00', '"']) json.feed(chunk);
    expect(json.value()).toBe('a\n"/é😀');
    expect(json.done).toBe(true);
  });

  it('never shows a half escape', () => {
    expect(values(['"ab\\', 'u00', '41"'])).toEqual(['ab', 'ab', 'abA']);
  });

  it('returns the same object while nothing changed, a new one when something did', () => {
    const json = createPartialJson();
    json.feed('{"a":{"b":[1,');
    const first = json.value();
    expect(json.value()).toBe(first);
    json.feed(' ');
    expect(json.value()).toBe(first);
    json.feed('2'); // not yet a number: `2` could become `23`
    expect(json.value()).toBe(first);
    json.feed(',');
    const second = json.value() as { a: { b: number[] } };
    expect(second).not.toBe(first);
    expect(second).toEqual({ a: { b: [1, 2] } });
    json.feed('3]}, "c": 1}');
    expect(json.value()).toEqual({ a: { b: [1, 2, 3] }, c: 1 });
    // Earlier values were never changed afterwards.
    expect(first).toEqual({ a: { b: [1] } });
    expect(second).toEqual({ a: { b: [1, 2] } });
  });

  it('shares finished containers between values', () => {
    const json = createPartialJson();
    json.feed('{"done":{"x":[1,2]},"more":"');
    const before = json.value() as { done: unknown };
    json.feed('text');
    const after = json.value() as { done: unknown; more: string };
    expect(after.more).toBe('text');
    expect(after.done).toBe(before.done);
  });

  it('keeps `__proto__` as a data key, as JSON.parse does', () => {
    const json = createPartialJson();
    json.feed('{"__proto__":{"polluted":true}}');
    const value = json.value() as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(value).toEqual(JSON.parse('{"__proto__":{"polluted":true}}'));
  });

  it.each([
    ['{"a":1,}', { a: 1 }],
    ['[1,]', [1]],
    ['{"a" 1}', {}],
    ['{a:1}', {}],
    ['[01]', []],
    ['[1.]', []],
    ['["a\\x"]', ['a']],
    ['["tab\there"]', ['tab']],
    ['[tru]', []],
    ['{} {}', {}],
    ['[1]]', [1]],
    ['}', undefined],
    ['"\\u12G4"', ''],
  ])('fails on %j without throwing and keeps the last good value', (text, last) => {
    const json = createPartialJson();
    expect(() => json.feed(text)).not.toThrow();
    expect(json.failed).toBe(true);
    expect(json.done).toBe(false);
    expect(json.value()).toEqual(last);
    json.feed('{"more":1}');
    expect(json.value()).toEqual(last);
  });

  it('ignores what is not a string', () => {
    const json = createPartialJson();
    json.feed(undefined as unknown as string);
    json.feed(7 as unknown as string);
    expect(json.length).toBe(0);
    expect(json.failed).toBe(false);
  });

  it('is done after a whole value and whitespace, and fails on anything else', () => {
    const json = createPartialJson();
    json.feed('{"a":[]}');
    expect(json.done).toBe(true);
    json.feed(' \n\t');
    expect(json.done).toBe(true);
    json.feed('x');
    expect(json.failed).toBe(true);
    expect(json.done).toBe(false);
    expect(json.value()).toEqual({ a: [] });
  });

  it('counts the characters consumed', () => {
    const json = createPartialJson();
    json.feed('{"a":');
    json.feed('"bc"}');
    expect(json.length).toBe(10);
  });

  it('with containersOnly, a text that does not start with an object or array fails at once', () => {
    for (const text of ['Hello', '"x"', '12', ' true']) {
      const json = createPartialJson(true);
      json.feed(text);
      expect(json.failed, text).toBe(true);
      expect(json.value(), text).toBeUndefined();
    }
    const json = createPartialJson(true);
    json.feed('\n  {"ok":');
    expect(json.failed).toBe(false);
    expect(json.value()).toEqual({});
  });
});

describe('structured output in the stream state', () => {
  const at = 1000;
  const ev = (event: ServerEvent): StreamAction => ({ type: 'event', at, event });
  const tok = (seq: number, delta: string) => ev({ event: 'tokens', payload: { seq, delta } });
  const start: StreamAction = { type: 'start', channelId: 'c1', at };
  const run = (...actions: StreamAction[]): StreamState => actions.reduce(reduceStream, initialStreamState());

  it('data holds the partial object while a JSON text streams, then the validated one', () => {
    const a = run(start, tok(1, '{\n  "reply": "Hel'));
    expect(a.data).toEqual({ reply: 'Hel' });
    const b = reduceStream(a, tok(2, 'lo", "score": 0.'));
    expect(b.data).toEqual({ reply: 'Hello' });
    const c = reduceStream(b, tok(3, '9}'));
    expect(c.data).toEqual({ reply: 'Hello', score: 0.9 });
    expect(a.data).toEqual({ reply: 'Hel' });
    const validated = { reply: 'Hello', score: 0.9, checked: true };
    const end = reduceStream(c, ev({ event: 'response', payload: { seq: 4, status: 'success', channel_id: 'c1', meta: {}, data: validated } }));
    expect(end.data).toBe(validated);
  });

  it('a text that is not JSON leaves data null', () => {
    expect(run(start, tok(1, 'Hello {"a":1}')).data).toBeNull();
  });

  it('JSON-looking text whose response brings no data ends with data null', () => {
    const s = run(start, tok(1, '[1, 2,'));
    expect(s.data).toEqual([1, 2]);
    expect(reduceStream(s, ev({ event: 'response', payload: { seq: 2, status: 'success', channel_id: 'c1', meta: {} } })).data).toBeNull();
  });

  it('a retry after invalid structured output starts a new document', () => {
    const s = run(
      start,
      tok(1, 'Sure! {"a":1}'),
      ev({ event: 'status', payload: { seq: 2, status: 'processing', reason: 'invalid_structured_output' } }),
      tok(3, '{"b":"x'),
    );
    expect(s.data).toEqual({ b: 'x' });
    const t = run(start, tok(1, '{"a":'), ev({ event: 'status', payload: { seq: 2, status: 'failover', reason: 'invalid_structured_output' } }));
    expect(t.data).toBeNull();
  });

  it('a failover that continues the text keeps the document', () => {
    const s = run(start, tok(1, '{"a":"x'), ev({ event: 'status', payload: { seq: 2, status: 'failover', reason: 'provider_unavailable' } }), tok(3, 'y"}'));
    expect(s.data).toEqual({ a: 'xy' });
  });

  it('a restored text (reload) shows its structured output at once', () => {
    const s = run({ type: 'start', channelId: 'c1', at, restored: { text: '{"items":["a","b', lastSeq: 9 } });
    expect(s.data).toEqual({ items: ['a', 'b'] });
    expect(reduceStream(s, ev({ event: 'tokens', payload: { seq: 10, delta: 'c"]}' } })).data).toEqual({ items: ['a', 'bc'] });
  });

  it('reducing an older state again gives the same data as the first time', () => {
    const s = run(start, tok(1, '{"a":"1'));
    const first = reduceStream(s, tok(2, '2"}'));
    const second = reduceStream(s, tok(2, '3"}'));
    const status = reduceStream(s, ev({ event: 'status', payload: { seq: 2, status: 'processing' } }));
    expect(first.data).toEqual({ a: '12' });
    expect(second.data).toEqual({ a: '13' });
    expect(status.data).toEqual({ a: '1' });
  });

  it('in place (the client path), deltas are fed as they come and data is built with the snapshot', () => {
    const working = initialStreamState();
    const pending: string[] = [];
    applyAction(working, start);
    let previous = snapshotOf(working);
    const snapshots: StreamState[] = [];
    const text = JSON.stringify({ reply: 'x'.repeat(300), list: Array.from({ length: 50 }, (_, i) => i) });
    let seq = 0;
    for (let i = 0; i < text.length; i += 3) {
      applyEvent(working, 'tokens', { seq: ++seq, delta: text.slice(i, i + 3) } as never, () => at, pending);
      if (seq % 40 === 0) snapshots.push((previous = snapshotOf(working, previous, pending)));
    }
    const last = snapshotOf(working, previous, pending);
    expect(last.text).toBe(text);
    expect(last.data).toEqual(JSON.parse(text));
    // Every snapshot's data is a consistent prefix of the final one, and was never changed later.
    for (const snap of snapshots) {
      const data = snap.data as { reply?: string; list?: number[] };
      expect(text.startsWith(snap.text)).toBe(true);
      expect((JSON.parse(text) as { reply: string }).reply.startsWith(data.reply ?? '')).toBe(true);
      expect(JSON.stringify(snap.data)).toBe(JSON.stringify(createPartialJsonValue(snap.text)));
    }
  });
});

function createPartialJsonValue(text: string): unknown {
  const json = createPartialJson(true);
  json.feed(text);
  return json.value();
}
