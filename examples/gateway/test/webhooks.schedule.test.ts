import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_RETRY_SCHEDULE_MS, createWebhookDispatcher, type WebhookDispatcher } from '../src/webhooks/index.js';
import { SECRET, completedEvent, recorder } from './webhooks.helpers.js';

const URL_ = 'http://127.0.0.1:9/hooks';
const CHANNEL = 'c0ffee00-0000-4000-8000-000000000001';
const START = Date.UTC(2025, 0, 1, 12, 0, 0);

interface Call {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal | undefined;
}

/** A fetch stub recording each call and answering with `answer(n)`. */
function stubFetch(answer: (n: number) => number | 'hang'): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetchImpl = (async (_url: string | URL | Request, init?: RequestInit) => {
    const n = calls.length;
    calls.push({ headers: init?.headers as Record<string, string>, body: String(init?.body), signal: init?.signal ?? undefined });
    const a = answer(n);
    if (a === 'hang') {
      // Like a real fetch: only the abort signal ends it.
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    return new Response(null, { status: a });
  }) as typeof fetch;
  return { fetch: fetchImpl, calls };
}

describe('webhook schedule (fake timers)', () => {
  let dispatcher: WebhookDispatcher | undefined;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(START);
  });
  afterEach(async () => {
    await dispatcher?.close();
    dispatcher = undefined;
    vi.useRealTimers();
  });

  it('follows the default schedule to the millisecond, then dead-letters', async () => {
    expect(DEFAULT_RETRY_SCHEDULE_MS).toEqual([5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000]);
    const stub = stubFetch(() => 500);
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, fetch: stub.fetch, onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await vi.advanceTimersByTimeAsync(0);
    expect(stub.calls).toHaveLength(1);

    let elapsed = 0;
    const expectedTimestamps = [Math.floor(START / 1000)];
    for (const delay of DEFAULT_RETRY_SCHEDULE_MS) {
      const before = stub.calls.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(stub.calls).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(stub.calls).toHaveLength(before + 1);
      elapsed += delay;
      expectedTimestamps.push(Math.floor((START + elapsed) / 1000));
    }
    expect(stub.calls).toHaveLength(8);
    // Each attempt is signed with its own time (seconds from the injected clock).
    expect(stub.calls.map((c) => Number(c.headers['webhook-timestamp']))).toEqual(expectedTimestamps);
    expect(stub.calls.map((c) => Number(c.headers['mr-timestamp']))).toEqual(expectedTimestamps);
    expect(new Set(stub.calls.map((c) => c.headers['webhook-id'])).size).toBe(1);
    expect(delivery.state).toBe('dead');
    expect(rec.settled).toEqual([{ id: delivery.id, state: 'dead' }]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(stub.calls).toHaveLength(8);
  });

  it('times an attempt out after 10 s by default', async () => {
    const stub = stubFetch((n) => (n === 0 ? 'hang' : 200));
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, fetch: stub.fetch, retryScheduleMs: [1_000], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await vi.advanceTimersByTimeAsync(9_999);
    expect(rec.attempts).toHaveLength(0);
    expect(stub.calls[0]?.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(stub.calls[0]?.signal?.aborted).toBe(true);
    expect(rec.attempts[0]?.attempt).toMatchObject({ attempt: 1, error: 'timeout: no response within 10000 ms', duration_ms: 10_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(delivery.state).toBe('delivered');
  });

  it('close() cancels pending retries', async () => {
    const stub = stubFetch(() => 500);
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, fetch: stub.fetch, onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(1);
    await dispatcher.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(24 * 3_600_000);
    expect(stub.calls).toHaveLength(1);
    expect(delivery.state).toBe('pending');
    expect(rec.settled).toEqual([]);
  });

  it('close() aborts an attempt in flight: logged, not retried, not settled', async () => {
    const stub = stubFetch(() => 'hang');
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, fetch: stub.fetch, onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await vi.advanceTimersByTimeAsync(0);
    await dispatcher.close();
    await rec.waitFor(() => rec.attempts.length === 1);
    expect(rec.attempts[0]?.attempt.error).toBe('dispatcher closed');
    expect(vi.getTimerCount()).toBe(0);
    expect(delivery.state).toBe('pending');
    expect(rec.settled).toEqual([]);
    // Deliveries handed over after close are kept (never lost) but not sent.
    const late = dispatcher.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(late.state).toBe('pending');
    expect(stub.calls).toHaveLength(1);
  });
});

describe('webhook timers do not keep the process alive', () => {
  afterEach(() => vi.restoreAllMocks());

  it('unrefs the retry timer and the per-attempt timeout', async () => {
    const created: Array<{ hasRef(): boolean }> = [];
    const real = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      const t = real(fn, ms);
      created.push(t);
      return t;
    }) as typeof setTimeout);
    const stub = stubFetch((n) => (n === 0 ? 500 : 'hang'));
    const rec = recorder();
    const dispatcher = createWebhookDispatcher({ secret: SECRET, fetch: stub.fetch, retryScheduleMs: [1], timeoutMs: 60_000, onAttempt: rec.onAttempt });
    dispatcher.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.attempts.length === 1);
    while (stub.calls.length < 2) await new Promise<void>((resolve) => setImmediate(resolve));
    // attempt-1 timeout, retry timer, attempt-2 timeout
    expect(created.length).toBeGreaterThanOrEqual(3);
    expect(created.every((t) => !t.hasRef())).toBe(true);
    await dispatcher.close();
  });
});
