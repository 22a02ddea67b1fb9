import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStorage, defaultStorage, RequestStore, type PersistedRequest } from './storage.js';
import type { KeyValueStorage } from './types.js';

const KEY = 'modelriver_active_request';
const timers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown): void => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function request(overrides: Partial<PersistedRequest> = {}): PersistedRequest {
  return { channelId: 'c1', resumeToken: 'r1', lastSeq: 3, text: 'Hel', savedAt: 1_000, ...overrides };
}

/** A storage that records writes, so tests can count them. */
function recording(): KeyValueStorage & { writes: string[] } {
  const inner = createMemoryStorage();
  const writes: string[] = [];
  return {
    writes,
    getItem: (k) => inner.getItem(k),
    setItem: (k, v) => {
      writes.push(v);
      inner.setItem(k, v);
    },
    removeItem: (k) => inner.removeItem(k),
  };
}

function throwing(): KeyValueStorage {
  const fail = (): never => {
    throw new Error('QuotaExceededError');
  };
  return { getItem: fail, setItem: fail, removeItem: fail };
}

describe('createMemoryStorage', () => {
  it('stores, reads and removes strings; instances are separate', () => {
    const a = createMemoryStorage();
    const b = createMemoryStorage();
    expect(a.getItem('k')).toBeNull();
    a.setItem('k', 'v');
    expect(a.getItem('k')).toBe('v');
    expect(b.getItem('k')).toBeNull();
    a.removeItem('k');
    expect(a.getItem('k')).toBeNull();
  });
});

describe('defaultStorage', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('uses localStorage when it works', () => {
    const local = createMemoryStorage();
    vi.stubGlobal('localStorage', local);
    expect(defaultStorage()).toBe(local);
  });

  it('falls back to memory when localStorage throws (private mode, sandboxed iframe)', () => {
    vi.stubGlobal('localStorage', throwing());
    const storage = defaultStorage();
    storage.setItem('k', 'v');
    expect(storage.getItem('k')).toBe('v');
  });

  it('falls back to memory when there is no localStorage (Node)', () => {
    vi.stubGlobal('localStorage', undefined);
    const storage = defaultStorage();
    storage.setItem('k', 'v');
    expect(storage.getItem('k')).toBe('v');
  });
});

describe('RequestStore: load and save', () => {
  let now = 10_000;
  const make = (storage: KeyValueStorage = createMemoryStorage(), maxAgeMs = 300_000): RequestStore =>
    new RequestStore({ storage, prefix: 'modelriver_', now: () => now, maxAgeMs, timers });

  beforeEach(() => {
    now = 10_000;
  });

  it('round-trips a request under `${prefix}active_request`', () => {
    const storage = createMemoryStorage();
    const store = make(storage);
    const saved = request({
      websocketUrl: 'ws://127.0.0.1:1/socket',
      websocketChannel: 'ai_response:p:c1',
      savedAt: 9_000,
      toolCalls: [{ index: 0, id: 'a', name: 'f', argumentsText: '{"x":1}', arguments: { x: 1 }, complete: true }],
    });
    store.save(saved);
    expect(storage.getItem(KEY)).not.toBeNull();
    expect(store.load()).toEqual(saved);
  });

  it('restores `arguments: undefined` of an unfinished tool call', () => {
    const store = make();
    store.save(request({ toolCalls: [{ index: 0, id: null, name: null, argumentsText: '{', arguments: undefined, complete: false }] }));
    const loaded = store.load();
    expect(loaded?.toolCalls?.[0]).toHaveProperty('arguments', undefined);
    expect('arguments' in (loaded?.toolCalls?.[0] ?? {})).toBe(true);
  });

  it('returns null when absent', () => {
    expect(make().load()).toBeNull();
  });

  it.each([
    ['corrupt JSON', '{"channelId":'],
    ['a number', '42'],
    ['an array', '[]'],
    ['a missing channelId', JSON.stringify({ v: 2, resumeToken: null, lastSeq: 0, text: '', savedAt: 9_000 })],
    ['a bad lastSeq', JSON.stringify({ v: 2, channelId: 'c', resumeToken: null, lastSeq: -1, text: '', savedAt: 9_000 })],
    ['a bad text', JSON.stringify({ v: 2, channelId: 'c', resumeToken: null, lastSeq: 0, text: 5, savedAt: 9_000 })],
    ['a bad resumeToken', JSON.stringify({ v: 2, channelId: 'c', resumeToken: 5, lastSeq: 0, text: '', savedAt: 9_000 })],
    [
      'bad tool calls',
      JSON.stringify({ v: 2, channelId: 'c', resumeToken: null, lastSeq: 0, text: '', savedAt: 9_000, toolCalls: [{}] }),
    ],
  ])('returns null and removes the record for %s', (_label, raw) => {
    const storage = createMemoryStorage();
    storage.setItem(KEY, raw);
    expect(make(storage).load()).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('drops a record older than maxAgeMs (and removes it), keeps one just within', () => {
    const storage = createMemoryStorage();
    const store = make(storage, 1_000);
    store.save(request({ savedAt: 9_000 }));
    expect(store.load()).not.toBeNull(); // exactly 1 000 ms old
    now = 10_001;
    expect(store.load()).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
  });

  it("reads the hosted SDK's record without ever returning its spent wsToken", () => {
    const storage = createMemoryStorage();
    storage.setItem(
      KEY,
      JSON.stringify({ channelId: 'c9', wsToken: 'spent', timestamp: 9_500, websocketUrl: 'wss://x/socket' }),
    );
    const store = make(storage);
    const loaded = store.load();
    expect(loaded).toEqual({ channelId: 'c9', resumeToken: null, lastSeq: 0, text: '', savedAt: 9_500, websocketUrl: 'wss://x/socket' });
    expect(JSON.stringify(loaded)).not.toContain('spent');
    // The record is rewritten without the token.
    expect(storage.getItem(KEY)).not.toContain('spent');
    expect(store.load()).toEqual(loaded);
  });

  it("drops an expired record of the hosted SDK", () => {
    const storage = createMemoryStorage();
    storage.setItem(KEY, JSON.stringify({ channelId: 'c9', wsToken: 't', timestamp: 1 }));
    expect(make(storage, 5_000).load()).toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('uses the prefix', () => {
    const storage = createMemoryStorage();
    new RequestStore({ storage, prefix: 'app_', now: () => now, maxAgeMs: 1e6, timers }).save(request());
    expect(storage.getItem('app_active_request')).not.toBeNull();
    expect(storage.getItem(KEY)).toBeNull();
  });

  it('clear removes the record', () => {
    const storage = createMemoryStorage();
    const store = make(storage);
    store.save(request());
    store.clear();
    expect(storage.getItem(KEY)).toBeNull();
    expect(store.load()).toBeNull();
  });

  it('swallows storage exceptions everywhere', () => {
    const store = make(throwing());
    expect(() => {
      store.save(request());
      store._saveSoon(request());
      store._flush();
      expect(store.load()).toBeNull();
      store.clear();
    }).not.toThrow();
  });
});

describe('RequestStore: throttled saves', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const make = (storage: KeyValueStorage, throttleMs?: number): RequestStore =>
    new RequestStore({
      storage,
      prefix: 'modelriver_',
      now: () => Date.now(),
      maxAgeMs: Number.POSITIVE_INFINITY,
      timers,
      ...(throttleMs === undefined ? {} : { _throttleMs: throttleMs }),
    });
  const textOf = (raw: string | undefined): string => (JSON.parse(raw ?? '{}') as { text: string }).text;

  it('writes at most once per 250 ms by default, and the latest value wins', () => {
    const storage = recording();
    const store = make(storage);
    store._saveSoon(request({ text: 'a' }));
    expect(storage.writes.map(textOf)).toEqual(['a']);
    for (const t of ['ab', 'abc', 'abcd']) store._saveSoon(request({ text: t }));
    expect(storage.writes).toHaveLength(1);
    vi.advanceTimersByTime(249);
    expect(storage.writes).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(storage.writes.map(textOf)).toEqual(['a', 'abcd']);
    // Still cooling down after that write.
    store._saveSoon(request({ text: 'abcde' }));
    expect(storage.writes).toHaveLength(2);
    vi.advanceTimersByTime(250);
    expect(storage.writes.map(textOf)).toEqual(['a', 'abcd', 'abcde']);
    // Quiet for a whole interval: the next save is written at once.
    vi.advanceTimersByTime(250);
    store._saveSoon(request({ text: 'x' }));
    expect(storage.writes.map(textOf).at(-1)).toBe('x');
  });

  it('honours throttleMs', () => {
    const storage = recording();
    const store = make(storage, 1_000);
    store._saveSoon(request({ text: 'a' }));
    store._saveSoon(request({ text: 'b' }));
    vi.advanceTimersByTime(999);
    expect(storage.writes).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(storage.writes.map(textOf)).toEqual(['a', 'b']);
  });

  it('flush writes the pending value now, once', () => {
    const storage = recording();
    const store = make(storage);
    store._saveSoon(request({ text: 'a' }));
    store._saveSoon(request({ text: 'ab' }));
    store._flush();
    expect(storage.writes.map(textOf)).toEqual(['a', 'ab']);
    vi.advanceTimersByTime(1_000);
    expect(storage.writes).toHaveLength(2);
    store._flush();
    expect(storage.writes).toHaveLength(2);
  });

  it('save writes now and supersedes a pending throttled value', () => {
    const storage = recording();
    const store = make(storage);
    store._saveSoon(request({ text: 'a' }));
    store._saveSoon(request({ text: 'stale' }));
    store.save(request({ text: 'fresh' }));
    vi.advanceTimersByTime(1_000);
    expect(storage.writes.map(textOf)).toEqual(['a', 'fresh']);
  });

  it('clear cancels a pending throttled write', () => {
    const storage = recording();
    const store = make(storage);
    store._saveSoon(request({ text: 'a' }));
    store._saveSoon(request({ text: 'ab' }));
    store.clear();
    vi.advanceTimersByTime(1_000);
    expect(storage.writes).toHaveLength(1);
    expect(storage.getItem(KEY)).toBeNull();
  });
});
