import { describe, expect, it, vi } from 'vitest';
import { ModelRiverError } from './errors.js';
import { EventStream, STREAM_ENDED } from './event-stream.js';
import type { ResponsePayload } from './protocol.js';
import type { StreamEvent } from './types.js';

const tokens = (seq: number, delta: string): StreamEvent => ({ type: 'tokens', payload: { seq, delta } });
const status = (seq: number): StreamEvent => ({ type: 'status', payload: { seq, status: 'processing' } });
const toolCall = (seq: number, index: number, args: string, extra: { id?: string; name?: string } = {}): StreamEvent => ({
  type: 'tool_call',
  payload: { seq, index, arguments: args, ...extra },
});
const response = (seq: number, s: ResponsePayload['status'], extra: Partial<ResponsePayload> = {}): StreamEvent => ({
  type: 'response',
  payload: { seq, status: s, channel_id: 'c1', meta: {}, ...extra },
});

async function drain(stream: EventStream): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

describe('EventStream: iteration', () => {
  it('yields queued events in order, then finishes after end()', async () => {
    const s = new EventStream();
    const events = [status(1), tokens(2, 'a'), response(3, 'success')];
    for (const e of events) s.push(e);
    s.end();
    expect(await drain(s)).toEqual(events);
  });

  it('hands an event straight to a waiting consumer', async () => {
    const s = new EventStream();
    const it = s[Symbol.asyncIterator]();
    const pending = it.next();
    const e = tokens(1, 'x');
    s.push(e);
    expect(await pending).toEqual({ value: e, done: false });
    const done = it.next();
    s.end();
    expect(await done).toEqual({ value: undefined, done: true });
  });

  it('serves concurrent next() calls in order', async () => {
    const s = new EventStream();
    const it = s[Symbol.asyncIterator]();
    const a = it.next();
    const b = it.next();
    s.push(status(1));
    s.push(status(2));
    expect((await a).value).toEqual(status(1));
    expect((await b).value).toEqual(status(2));
  });

  it('has a single consumer: a second iterator throws invalid_options', () => {
    const s = new EventStream();
    s[Symbol.asyncIterator]();
    expect(() => s[Symbol.asyncIterator]()).toThrow(ModelRiverError);
    try {
      s[Symbol.asyncIterator]();
    } catch (error) {
      expect((error as ModelRiverError).code).toBe('invalid_options');
    }
  });

  it('ignores pushes after end without throwing', async () => {
    const s = new EventStream();
    s.push(tokens(1, 'a'));
    s.end();
    expect(() => s.push(tokens(2, 'b'))).not.toThrow();
    expect(await drain(s)).toEqual([tokens(1, 'a')]);
  });

  it('rejects a bad maxQueued at once', () => {
    expect(() => new EventStream({ maxQueued: 0 })).toThrow(/maxQueued/);
    expect(() => new EventStream({ maxQueued: Number.NaN })).toThrow(ModelRiverError);
  });
});

describe('EventStream: fail()', () => {
  it('drains what was queued, then throws the error', async () => {
    const s = new EventStream();
    const error = new ModelRiverError('connection_failed', 'gave up');
    s.push(tokens(1, 'a'));
    s.fail(error);
    const seen: StreamEvent[] = [];
    await expect(
      (async () => {
        for await (const e of s) seen.push(e);
      })(),
    ).rejects.toBe(error);
    expect(seen).toEqual([tokens(1, 'a')]);
    await expect(s.finalResponse()).rejects.toBe(error);
    await expect(s.finalText()).rejects.toBe(error);
  });

  it('rejects a waiting consumer at once', async () => {
    const s = new EventStream();
    const it = s[Symbol.asyncIterator]();
    const pending = it.next();
    const error = new Error('unauthorized');
    s.fail(error);
    await expect(pending).rejects.toBe(error);
    expect(await it.next()).toEqual({ value: undefined, done: true });
  });

  it('is ignored after end, and end is ignored after fail', async () => {
    const a = new EventStream();
    a.push(response(1, 'success'));
    a.end();
    a.fail(new Error('late'));
    expect(await drain(a)).toHaveLength(1);

    const b = new EventStream();
    const error = new Error('first');
    b.fail(error);
    b.end();
    await expect(drain(b)).rejects.toBe(error);
  });
});

describe('EventStream: final results', () => {
  it('resolves finalResponse and finalText without anybody iterating', async () => {
    const s = new EventStream();
    s.push(tokens(1, 'Hel'));
    s.push(tokens(2, 'lo'));
    const final = response(3, 'success', { data: { ok: 1 } });
    s.push(final);
    expect(await s.finalResponse()).toBe(final.payload);
    expect(await s.finalText()).toBe('Hello');
  });

  it('finalText prefers the response content', async () => {
    const s = new EventStream();
    s.push(tokens(1, 'He'));
    s.push(response(2, 'success', { content: 'Hello' }));
    expect(await s.finalText()).toBe('Hello');
  });

  it('ai_generated is not final: completed is', async () => {
    const s = new EventStream();
    const settled = vi.fn();
    void s.finalResponse().then(settled);
    s.push(response(1, 'ai_generated'));
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).not.toHaveBeenCalled();
    const done = response(2, 'completed', { task_id: 't' });
    s.push(done);
    expect(await s.finalResponse()).toBe(done.payload);
  });

  it.each(['error', 'cancelled'] as const)('resolves with a terminal %s response too', async (st) => {
    const s = new EventStream();
    const final = response(1, st, { error: { code: 'x', message: 'y' } });
    s.push(final);
    expect((await s.finalResponse()).status).toBe(st);
  });

  it('rejects with stream_ended when the stream ends without a terminal response', async () => {
    const s = new EventStream();
    s.push(tokens(1, 'a'));
    s.end();
    await expect(s.finalResponse()).rejects.toMatchObject({ code: STREAM_ENDED });
    await expect(s.finalText()).rejects.toMatchObject({ code: STREAM_ENDED });
  });

  it('does not leave an unhandled rejection when nobody asks for the result', async () => {
    const onUnhandled = vi.fn();
    process.on('unhandledRejection', onUnhandled);
    try {
      const a = new EventStream();
      a.end();
      const b = new EventStream();
      b.fail(new Error('nobody listens'));
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(onUnhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('EventStream: break / return()', () => {
  it('a break calls onReturn once, ends the stream and rejects the final results', async () => {
    const s = new EventStream();
    const onReturn = vi.fn();
    s.onReturn = onReturn;
    s.push(tokens(1, 'a'));
    s.push(tokens(2, 'b'));
    s.push(status(3));
    for await (const e of s) {
      expect(e.type).toBe('tokens');
      break;
    }
    expect(onReturn).toHaveBeenCalledTimes(1);
    s.push(tokens(4, 'c'));
    await expect(s.finalResponse()).rejects.toMatchObject({ code: STREAM_ENDED });
  });

  it('a break after the stream ended does not call onReturn', async () => {
    const s = new EventStream();
    const onReturn = vi.fn();
    s.onReturn = onReturn;
    s.push(tokens(1, 'a'));
    s.push(response(2, 'success'));
    s.end();
    for await (const e of s) {
      if (e.type === 'tokens') break;
    }
    expect(onReturn).not.toHaveBeenCalled();
    await expect(s.finalText()).resolves.toBe('a');
  });

  it('return() releases a waiting consumer', async () => {
    const s = new EventStream();
    const it = s[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return?.();
    expect(await pending).toEqual({ value: undefined, done: true });
  });

  it('an exception in onReturn does not escape the break', async () => {
    const s = new EventStream();
    s.onReturn = () => {
      throw new Error('client bug');
    };
    s.push(tokens(1, 'a'));
    await expect(
      (async () => {
        for await (const _ of s) break;
      })(),
    ).resolves.toBeUndefined();
  });
});

describe('EventStream: backpressure', () => {
  it('merges the tokens a slow consumer has not read: nothing lost, one item', async () => {
    const s = new EventStream();
    let text = '';
    for (let seq = 1; seq <= 10_000; seq++) {
      const delta = String.fromCharCode(97 + (seq % 26));
      text += delta;
      s.push(tokens(seq, delta));
    }
    s.end();
    const events = await drain(s);
    expect(events).toEqual([{ type: 'tokens', payload: { seq: 10_000, first_seq: 1, delta: text } }]);
  });

  it('keeps the earlier first_seq of a merged frame', async () => {
    const s = new EventStream();
    s.push({ type: 'tokens', payload: { seq: 5, first_seq: 2, delta: 'abcd' } });
    s.push(tokens(6, 'e'));
    s.end();
    expect(await drain(s)).toEqual([{ type: 'tokens', payload: { seq: 6, first_seq: 2, delta: 'abcde' } }]);
  });

  it('does not merge across another kind of event, and does not mutate pushed payloads', async () => {
    const s = new EventStream();
    const first = tokens(1, 'a');
    s.push(first);
    s.push(tokens(2, 'b'));
    s.push(status(3));
    s.push(tokens(4, 'c'));
    s.end();
    expect((await drain(s)).map((e) => e.type)).toEqual(['tokens', 'status', 'tokens']);
    expect(first).toEqual(tokens(1, 'a'));
  });

  it('does not merge what the consumer already read', async () => {
    const s = new EventStream();
    const it = s[Symbol.asyncIterator]();
    s.push(tokens(1, 'a'));
    expect((await it.next()).value).toEqual(tokens(1, 'a'));
    s.push(tokens(2, 'b'));
    expect((await it.next()).value).toEqual(tokens(2, 'b'));
  });

  it('merges consecutive deltas of one tool call, not of different calls', async () => {
    const s = new EventStream();
    s.push(toolCall(1, 0, '{"a":', { id: 'c0', name: 'f' }));
    s.push(toolCall(2, 0, '1}'));
    s.push(toolCall(3, 1, '{}', { id: 'c1', name: 'g' }));
    s.end();
    expect(await drain(s)).toEqual([
      { type: 'tool_call', payload: { seq: 2, index: 0, arguments: '{"a":1}', id: 'c0', name: 'f' } },
      { type: 'tool_call', payload: { seq: 3, index: 1, arguments: '{}', id: 'c1', name: 'g' } },
    ]);
  });

  it('past maxQueued, drops status events (counted) so alternating traffic stays bounded', async () => {
    const s = new EventStream({ maxQueued: 10 });
    let text = '';
    let seq = 0;
    for (let i = 0; i < 5_000; i++) {
      s.push(status(++seq));
      const delta = `t${i};`;
      text += delta;
      s.push(tokens(++seq, delta));
    }
    const final = response(++seq, 'success');
    s.push(final);
    s.end();
    const events = await drain(s);
    expect(events.length).toBeLessThanOrEqual(12);
    expect(s.dropped).toBeGreaterThan(4_900);
    // Every token survives, and the response is never dropped.
    expect(events.filter((e) => e.type === 'tokens').map((e) => (e.payload as { delta: string }).delta).join('')).toBe(text);
    expect(events.at(-1)).toBe(final);
  });
});
