import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ModelRiverError } from './errors.js';
import { PushBuffer } from './push.js';
import type { Push } from './push.js';
import type { DropInfo, Timers } from './types.js';

const timers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function setup(options: { maxSize?: number; timeoutMs?: number } = {}) {
  const drops: DropInfo[] = [];
  const buffer = new PushBuffer({ maxSize: options.maxSize ?? 3, timeoutMs: options.timeoutMs ?? 1_000, timers, _onDrop: (i) => drops.push(i) });
  const sent: Push[] = [];
  let ref = 0;
  const send = (push: Push): string => {
    sent.push(push);
    ref += 1;
    return String(ref);
  };
  const outcome = (push: Push) => {
    const result: { ok?: unknown; error?: ModelRiverError } = {};
    push.receive('ok', (r) => (result.ok = r)).receive('error', (e) => (result.error = e));
    return result;
  };
  return { buffer, drops, sent, send, outcome };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PushBuffer', () => {
  it('sends at once when a sender is given and settles on the matching reply', () => {
    const { buffer, sent, send, outcome } = setup();
    const push = buffer.add('cancel', {}, send);
    const result = outcome(push);
    expect(sent).toEqual([push]);
    expect(push.ref).toBe('1');
    expect(buffer.reply('99', 'ok', {})).toBe(false);
    expect(buffer.reply('1', 'ok', { done: true })).toBe(true);
    expect(result.ok).toEqual({ done: true });
    expect(buffer.inFlight).toBe(0);
  });

  it('turns an error reply into a request_failed error with the reason', () => {
    const { buffer, send, outcome } = setup();
    const result = outcome(buffer.add('cancel', {}, send));
    buffer.reply('1', 'error', { reason: 'already_finished' });
    expect(result.error?.code).toBe('request_failed');
    expect(result.error?.message).toContain('already_finished');
  });

  it('queues while offline and flushes in order', () => {
    const { buffer, sent, send } = setup();
    const a = buffer.add('a', {}, null);
    const b = buffer.add('b', {}, null);
    expect(buffer.queued).toBe(2);
    expect(sent).toEqual([]);
    buffer._flush(send);
    expect(sent).toEqual([a, b]);
    expect(buffer.queued).toBe(0);
    expect(buffer.inFlight).toBe(2);
  });

  it('starts the timeout when queued, not when sent', () => {
    const { buffer, send, drops, outcome } = setup({ timeoutMs: 1_000 });
    const push = buffer.add('cancel', {}, null);
    const result = outcome(push);
    vi.advanceTimersByTime(900);
    buffer._flush(send); // sent late: only 100 ms remain
    vi.advanceTimersByTime(99);
    expect(result.error).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(result.error?.code).toBe('push_timeout');
    expect(drops).toEqual([{ kind: 'push', event: 'cancel', reason: 'timeout' }]);
    expect(buffer.inFlight).toBe(0);
    // A reply after the timeout changes nothing.
    expect(buffer.reply('1', 'ok', {})).toBe(false);
  });

  it('drops a queued push on timeout so it is never sent', () => {
    const { buffer, send, sent, drops } = setup({ timeoutMs: 500 });
    buffer.add('cancel', {}, null);
    vi.advanceTimersByTime(500);
    expect(drops.map((d) => d.reason)).toEqual(['timeout']);
    buffer._flush(send);
    expect(sent).toEqual([]);
  });

  it('refuses pushes beyond maxSize with push_overflow, reported once', () => {
    const { buffer, drops, outcome, send, sent } = setup({ maxSize: 2 });
    const a = buffer.add('a', {}, null);
    const b = buffer.add('b', {}, null);
    const c = buffer.add('c', {}, null);
    expect(outcome(c).error?.code).toBe('push_overflow');
    expect(c._settled).toBe(true);
    expect(drops).toEqual([{ kind: 'push', event: 'c', reason: 'overflow' }]);
    buffer._flush(send);
    expect(sent).toEqual([a, b]);
    // Its timeout never fires a second drop.
    vi.advanceTimersByTime(10_000);
    expect(drops.filter((d) => d.event === 'c')).toHaveLength(1);
  });

  it('keeps order: a push made while others wait is queued behind them even if a sender is given', () => {
    const { buffer, send, sent } = setup();
    const a = buffer.add('a', {}, null);
    const b = buffer.add('b', {}, send);
    expect(sent).toEqual([]);
    buffer._flush(send);
    expect(sent).toEqual([a, b]);
  });

  it('stops flushing at the first push the link refuses', () => {
    const { buffer } = setup();
    buffer.add('a', {}, null);
    buffer.add('b', {}, null);
    buffer._flush(() => null);
    expect(buffer.queued).toBe(2);
  });

  it('requeues in-flight pushes at the head when the link drops, keeping their timeout', () => {
    const { buffer, send, sent, outcome } = setup({ timeoutMs: 1_000 });
    const a = buffer.add('a', {}, send);
    const b = buffer.add('b', {}, null);
    const resultA = outcome(a);
    vi.advanceTimersByTime(600);
    buffer._requeueInFlight();
    expect(a.ref).toBeNull();
    expect(buffer.queued).toBe(2);
    buffer._flush(send);
    expect(sent).toEqual([a, a, b]);
    expect(buffer.reply(a.ref as string, 'ok', 'yes')).toBe(true);
    expect(resultA.ok).toBe('yes');
    vi.advanceTimersByTime(400);
    expect(b._settled).toBe(true);
  });

  it('fails everything with the given error on dropAll, reported as disconnected', () => {
    const { buffer, send, drops, outcome } = setup();
    const a = outcome(buffer.add('a', {}, send));
    const b = outcome(buffer.add('b', {}, null));
    const error = { code: 'not_connected', message: 'gone', name: 'ModelRiverError' } as ModelRiverError;
    buffer._dropAll(error);
    expect(a.error).toBe(error);
    expect(b.error).toBe(error);
    expect(drops.map((d) => d.reason)).toEqual(['disconnected', 'disconnected']);
  });

  it('calls callbacks registered after settlement at once, and a throwing callback does not break the buffer', () => {
    const { buffer, send } = setup();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const push = buffer.add('a', {}, send);
    push.receive('ok', () => {
      throw new Error('listener bug');
    });
    expect(buffer.reply('1', 'ok', 1)).toBe(true);
    expect(spy).toHaveBeenCalled();
    let late: unknown;
    push.receive('ok', (r) => (late = r));
    expect(late).toBe(1);
    spy.mockRestore();
  });

  it('promise() resolves with the reply and rejects with the error', async () => {
    const { buffer, send } = setup({ timeoutMs: 100 });
    const ok = buffer.add('a', {}, send).promise();
    buffer.reply('1', 'ok', 'r');
    await expect(ok).resolves.toBe('r');
    const failing = buffer.add('b', {}, null).promise();
    vi.advanceTimersByTime(100);
    await expect(failing).rejects.toMatchObject({ code: 'push_timeout' });
  });
});
