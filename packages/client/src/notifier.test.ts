import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNotifier } from './notifier.js';

const timers = {
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown): void => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** A manual animation-frame source: `frame()` runs the callbacks requested so far. */
function frames() {
  let next = 1;
  const callbacks = new Map<number, () => void>();
  return {
    requestAnimationFrame: vi.fn((fn: () => void): unknown => {
      const id = next++;
      callbacks.set(id, fn);
      return id;
    }),
    cancelAnimationFrame: vi.fn((h: unknown): void => {
      callbacks.delete(h as number);
    }),
    frame(): void {
      const due = [...callbacks.values()];
      callbacks.clear();
      for (const fn of due) fn();
    },
    get requested(): number {
      return callbacks.size;
    },
  };
}

describe("createNotifier('sync')", () => {
  it('delivers at once on every schedule', () => {
    const deliver = vi.fn();
    const n = createNotifier('sync', { timers }, deliver);
    n._schedule();
    n._schedule();
    expect(deliver).toHaveBeenCalledTimes(2);
    n._flush();
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('does nothing after dispose', () => {
    const deliver = vi.fn();
    const n = createNotifier('sync', { timers }, deliver);
    n._dispose();
    n._schedule();
    expect(deliver).not.toHaveBeenCalled();
  });

  it('treats an unknown mode and a bad interval as sync', () => {
    for (const mode of ['bogus', { intervalMs: 0 }, { intervalMs: Number.NaN }, { intervalMs: -5 }]) {
      const deliver = vi.fn();
      createNotifier(mode as never, { timers }, deliver)._schedule();
      expect(deliver).toHaveBeenCalledTimes(1);
    }
  });
});

describe("createNotifier('microtask')", () => {
  it('delivers once per microtask turn however many schedules', async () => {
    const deliver = vi.fn();
    const n = createNotifier('microtask', { timers }, deliver);
    n._schedule();
    n._schedule();
    n._schedule();
    expect(deliver).not.toHaveBeenCalled();
    await Promise.resolve();
    expect(deliver).toHaveBeenCalledTimes(1);
    n._schedule();
    await Promise.resolve();
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('uses the injected queueMicrotask', () => {
    const queued: Array<() => void> = [];
    const deliver = vi.fn();
    const n = createNotifier('microtask', { timers, queueMicrotask: (fn) => queued.push(fn) }, deliver);
    n._schedule();
    n._schedule();
    expect(queued).toHaveLength(1);
    queued[0]?.();
    expect(deliver).toHaveBeenCalledTimes(1);
  });

  it('flush delivers now and the queued run then finds nothing', async () => {
    const deliver = vi.fn();
    const n = createNotifier('microtask', { timers }, deliver);
    n._schedule();
    n._flush();
    expect(deliver).toHaveBeenCalledTimes(1);
    await Promise.resolve();
    expect(deliver).toHaveBeenCalledTimes(1);
  });

  it('a change after flush in the same turn is still delivered, once', async () => {
    const deliver = vi.fn();
    const n = createNotifier('microtask', { timers }, deliver);
    n._schedule();
    n._flush();
    n._schedule();
    n._schedule();
    await Promise.resolve();
    await Promise.resolve();
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('dispose cancels a pending delivery', async () => {
    const deliver = vi.fn();
    const n = createNotifier('microtask', { timers }, deliver);
    n._schedule();
    n._dispose();
    await Promise.resolve();
    n._schedule();
    await Promise.resolve();
    expect(deliver).not.toHaveBeenCalled();
  });

  it('swallows an exception of deliver instead of throwing into the event loop', () => {
    const queued: Array<() => void> = [];
    const n = createNotifier('microtask', { timers, queueMicrotask: (fn) => queued.push(fn) }, () => {
      throw new Error('listener bug');
    });
    n._schedule();
    expect(() => queued[0]?.()).not.toThrow();
    // And it keeps working afterwards.
    n._schedule();
    expect(queued).toHaveLength(2);
  });
});

describe("createNotifier('animationFrame')", () => {
  it('delivers once per frame', () => {
    const f = frames();
    const deliver = vi.fn();
    const n = createNotifier('animationFrame', { timers, ...f }, deliver);
    n._schedule();
    n._schedule();
    expect(f.requestAnimationFrame).toHaveBeenCalledTimes(1);
    expect(deliver).not.toHaveBeenCalled();
    f.frame();
    expect(deliver).toHaveBeenCalledTimes(1);
    f.frame();
    expect(deliver).toHaveBeenCalledTimes(1);
    n._schedule();
    f.frame();
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('dispose cancels the requested frame', () => {
    const f = frames();
    const deliver = vi.fn();
    const n = createNotifier('animationFrame', { timers, ...f }, deliver);
    n._schedule();
    n._dispose();
    expect(f.cancelAnimationFrame).toHaveBeenCalledTimes(1);
    expect(f.requested).toBe(0);
    n._schedule();
    f.frame();
    expect(deliver).not.toHaveBeenCalled();
  });

  it('flush delivers now; the frame then delivers nothing more', () => {
    const f = frames();
    const deliver = vi.fn();
    const n = createNotifier('animationFrame', { timers, ...f }, deliver);
    n._schedule();
    n._flush();
    expect(deliver).toHaveBeenCalledTimes(1);
    f.frame();
    expect(deliver).toHaveBeenCalledTimes(1);
  });

  describe('without requestAnimationFrame', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('falls back to a 16 ms timer', () => {
      const deliver = vi.fn();
      const n = createNotifier('animationFrame', { timers }, deliver);
      n._schedule();
      n._schedule();
      vi.advanceTimersByTime(15);
      expect(deliver).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(deliver).toHaveBeenCalledTimes(1);
      n._schedule();
      n._dispose();
      vi.advanceTimersByTime(100);
      expect(deliver).toHaveBeenCalledTimes(1);
    });
  });
});

describe('createNotifier({ intervalMs })', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers the first change at once and later ones at the end of the interval', () => {
    const deliver = vi.fn();
    const n = createNotifier({ intervalMs: 100 }, { timers }, deliver);
    n._schedule();
    expect(deliver).toHaveBeenCalledTimes(1);
    n._schedule();
    n._schedule();
    vi.advanceTimersByTime(99);
    expect(deliver).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1);
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('delivers at most once per interval under a steady stream, and always the last change', () => {
    let value = 0;
    const seen: number[] = [];
    const n = createNotifier({ intervalMs: 50 }, { timers }, () => seen.push(value));
    // One change per ms for a second.
    for (let t = 0; t < 1_000; t++) {
      value = t;
      n._schedule();
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(50);
    expect(seen.length).toBeLessThanOrEqual(1_000 / 50 + 1);
    expect(seen.length).toBeGreaterThanOrEqual(1_000 / 50);
    expect(seen.at(-1)).toBe(999);
  });

  it('is quiet when nothing changed during the interval', () => {
    const deliver = vi.fn();
    const n = createNotifier({ intervalMs: 100 }, { timers }, deliver);
    n._schedule();
    vi.advanceTimersByTime(1_000);
    expect(deliver).toHaveBeenCalledTimes(1);
    n._schedule();
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('flush delivers a pending change now, and only once', () => {
    const deliver = vi.fn();
    const n = createNotifier({ intervalMs: 100 }, { timers }, deliver);
    n._schedule();
    n._schedule();
    n._flush();
    expect(deliver).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(100);
    expect(deliver).toHaveBeenCalledTimes(2);
  });

  it('dispose cancels the trailing delivery', () => {
    const deliver = vi.fn();
    const n = createNotifier({ intervalMs: 100 }, { timers }, deliver);
    n._schedule();
    n._schedule();
    n._dispose();
    vi.advanceTimersByTime(1_000);
    n._schedule();
    expect(deliver).toHaveBeenCalledTimes(1);
  });
});
