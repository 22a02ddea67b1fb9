import EventEmitter from 'eventemitter3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateStore } from './state-store.js';
import type { NotifyMode, StreamState, Timers } from './types.js';

const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };

function storeWith(notify: NotifyMode) {
  const emitter = new EventEmitter();
  const store = new StateStore(notify, { timers }, emitter, () => 1_000, () => undefined);
  const calls: Array<[StreamState, StreamState]> = [];
  store.subscribe((state, previous) => calls.push([state, previous]));
  return { store, emitter, calls };
}

describe('StateStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('getState() is the same object until apply() changes something', () => {
    const { store } = storeWith('sync');
    const first = store.getState();
    expect(store.getState()).toBe(first);
    expect(store.apply({ type: 'reset' })).toBe(false);
    expect(store.getState()).toBe(first);
    expect(store.apply({ type: 'start', channelId: 'c1', at: 1 })).toBe(true);
    const started = store.getState();
    expect(started).not.toBe(first);
    expect(started.status).toBe('pending');
    expect(first.status).toBe('idle');
  });

  it('a server event is applied as (name, payload); its text is in _text() and the snapshot', () => {
    const { store } = storeWith('sync');
    store.apply({ type: 'start', channelId: 'c1', at: 1 });
    store.apply('tokens', { seq: 1, delta: 'Hel' } as { seq: number });
    store.apply('tokens', { seq: 2, delta: 'lo' } as { seq: number });
    expect(store.getState().text).toBe('Hello');
    expect(store._text()).toBe('Hello');
    expect(store._state.lastSeq).toBe(2);
  });

  it("batches deliveries in 'microtask' mode: one call per turn, previous is the state before the batch", async () => {
    const { store, calls } = storeWith('microtask');
    const before = store.getState();
    store.apply({ type: 'start', channelId: 'c1', at: 1 });
    store._schedule();
    store.apply('tokens', { seq: 1, delta: 'a' } as { seq: number });
    store._schedule();
    expect(calls).toHaveLength(0);
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[1]).toBe(before);
    expect(calls[0]?.[0].text).toBe('a');
  });

  it('batches per interval with { intervalMs }: the first change at once, the rest when the interval ends', () => {
    vi.useFakeTimers();
    const { store, calls } = storeWith({ intervalMs: 100 });
    store.apply({ type: 'start', channelId: 'c1', at: 1 });
    store._schedule();
    expect(calls).toHaveLength(1);
    for (let seq = 1; seq <= 5; seq++) {
      store.apply('tokens', { seq, delta: 'x' } as { seq: number });
      store._schedule();
    }
    expect(calls).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.[0].text).toBe('xxxxx');
    expect(calls[1]?.[1]).toBe(calls[0]?.[0]);
  });

  it("emits 'state' on the emitter before calling subscribers, and _flush() delivers a pending batch now", () => {
    vi.useFakeTimers();
    const { store, emitter, calls } = storeWith({ intervalMs: 100 });
    const order: string[] = [];
    emitter.on('state', () => order.push('event'));
    store.subscribe(() => order.push('subscriber'));
    store.apply({ type: 'start', channelId: 'c1', at: 1 });
    store._schedule();
    store.apply({ type: 'connection', state: 'connecting' });
    store._schedule();
    store._flush();
    expect(order).toEqual(['event', 'subscriber', 'event', 'subscriber']);
    expect(calls.at(-1)?.[0].connectionState).toBe('connecting');
  });

  it('_setConnection returns {previous, current, reason} and changes the state once', () => {
    const { store, calls } = storeWith('sync');
    expect(store._setConnection('connecting', 'connect')).toEqual({ previous: 'disconnected', current: 'connecting', reason: 'connect' });
    expect(store._setConnection('connecting', 'connect')).toEqual({ previous: 'connecting', current: 'connecting', reason: 'connect' });
    expect(calls).toHaveLength(1);
    expect(store.getState().isConnecting).toBe(true);
  });

  it("a misuse shows in the state without ending a request under way", () => {
    const { store } = storeWith('sync');
    store.apply({ type: 'misuse', message: 'wsToken is required' });
    expect(store.getState()).toMatchObject({ status: 'error', errorCode: 'invalid_options', error: 'wsToken is required' });
    store.apply({ type: 'start', channelId: 'c1', at: 1 });
    store.apply('tokens', { seq: 1, delta: 'a' } as { seq: number });
    store.apply({ type: 'misuse', message: 'channelId is required' });
    expect(store.getState()).toMatchObject({ status: 'streaming', errorCode: 'invalid_options', text: 'a' });
  });

  it('after _dispose() nothing is delivered', () => {
    const { store, calls } = storeWith('sync');
    store._dispose();
    store.apply({ type: 'start', channelId: 'c1', at: 1 });
    store._schedule();
    expect(calls).toHaveLength(0);
  });
});
