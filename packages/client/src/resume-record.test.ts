import EventEmitter from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ResumeRecord } from './resume-record.js';
import type { LiveFields, LiveRequest } from './resume-record.js';
import { StateStore } from './state-store.js';
import { createMemoryStorage, RequestStore } from './storage.js';
import type { KeyValueStorage, Timers } from './types.js';

const timers: Timers = { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>) };
const now = (): number => 5_000;

function setup(storage: KeyValueStorage | null = createMemoryStorage()) {
  const state = new StateStore('sync', { timers }, new EventEmitter(), now, () => undefined);
  const store = storage === null ? null : new RequestStore({ storage, prefix: 'test_', now, maxAgeMs: 60_000, timers });
  const resume = new ResumeRecord(store, state, now);
  const fields: LiveFields = { channelId: 'c1', resumeToken: 'r1', websocketUrl: 'ws://x/socket', websocketChannel: undefined };
  const live: LiveRequest = { _fields: () => fields };
  const saved = (): Record<string, unknown> | null => {
    const raw = storage?.getItem('test_active_request');
    return raw == null ? null : (JSON.parse(raw) as Record<string, unknown>);
  };
  return { state, store, resume, fields, live, saved };
}

describe('ResumeRecord', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes a live request at once with the text and lastSeq the state holds', () => {
    const { state, resume, live, saved } = setup();
    state.apply({ type: 'start', channelId: 'c1', at: 1 });
    state.apply('tokens', { seq: 1, delta: 'Hi' } as { seq: number });
    resume._keep(live, true);
    expect(saved()).toMatchObject({ channelId: 'c1', resumeToken: 'r1', websocketUrl: 'ws://x/socket', lastSeq: 1, text: 'Hi', savedAt: 5_000 });
    expect(state.getState().hasPendingRequest).toBe(true);
    expect(resume._pending()).toBe(true);
  });

  it('per event, writes throttled: the record is built when the write happens, with the latest text', () => {
    const { state, resume, live, saved } = setup();
    state.apply({ type: 'start', channelId: 'c1', at: 1 });
    resume._keep(live, true);
    for (let seq = 1; seq <= 3; seq++) {
      state.apply('tokens', { seq, delta: String(seq) } as { seq: number });
      resume._keep(live, false);
    }
    // The first write of a quiet interval goes at once; the later ones wait for its end.
    expect(saved()?.text).toBe('1');
    vi.advanceTimersByTime(250);
    expect(saved()?.text).toBe('123');
  });

  it('_flush() writes a throttled record now', () => {
    const { state, resume, live, saved } = setup();
    state.apply({ type: 'start', channelId: 'c1', at: 1 });
    resume._keep(live, false);
    state.apply('tokens', { seq: 1, delta: 'a' } as { seq: number });
    resume._keep(live, false);
    expect(saved()?.text).toBe('');
    resume._flush();
    expect(saved()?.text).toBe('a');
  });

  it('_forget() removes the record, cancels a throttled write and clears hasPendingRequest', () => {
    const { state, resume, live, saved } = setup();
    state.apply({ type: 'start', channelId: 'c1', at: 1 });
    resume._keep(live, false);
    resume._keep(live, false);
    resume._forget();
    vi.advanceTimersByTime(1_000);
    expect(saved()).toBeNull();
    expect(resume._record()).toBeNull();
    expect(resume._pending()).toBe(false);
    expect(state.getState().hasPendingRequest).toBe(false);
  });

  it('_restore() shows what a reload finds: the text, and a pending request', () => {
    const storage = createMemoryStorage();
    const first = setup(storage);
    first.state.apply({ type: 'start', channelId: 'c1', at: 1 });
    first.state.apply('tokens', { seq: 1, delta: 'kept' } as { seq: number });
    first.resume._keep(first.live, true);

    const reload = setup(storage);
    reload.resume._restore();
    expect(reload.state.getState()).toMatchObject({ channelId: 'c1', text: 'kept', lastSeq: 1, hasPendingRequest: true, status: 'streaming' });
    expect(reload.resume._record()).toMatchObject({ channelId: 'c1', resumeToken: 'r1' });
  });

  it('without storage keeps the live request in memory but never reports it pending', () => {
    const { state, resume, live, fields } = setup(null);
    state.apply({ type: 'start', channelId: 'c1', at: 1 });
    resume._keep(live, true);
    fields.resumeToken = 'r2';
    expect(resume._record()).toMatchObject({ channelId: 'c1', resumeToken: 'r2' });
    expect(resume._load()?.channelId).toBe('c1');
    expect(resume._pending()).toBe(false);
    expect(state.getState().hasPendingRequest).toBe(false);
  });
});
