import { HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { API_KEY, BASE, mockApi } from '../../test/support/api-mock.js';
import { RateLimitError, RequestAbortedError, ServerError, TimeoutError } from './errors.js';
import { ModelRiver, type ModelRiverOptions } from './model-river.js';

const api = mockApi();
beforeAll(api.listen);
afterEach(() => {
  api.reset();
  vi.useRealTimers();
});
afterAll(api.close);

const body = { workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }] };
const okAnswer = { status: 'success', channel_id: 'c1', meta: {}, customer_data: {} };
const ok = () => HttpResponse.json(okAnswer);
const NOW = Date.UTC(2025, 0, 1);

/** A client on a fake clock: each wait moves the clock forward instead of sleeping. */
function client(extra: ModelRiverOptions = {}) {
  const waits: number[] = [];
  let now = NOW;
  const mr = new ModelRiver({
    apiKey: API_KEY,
    baseUrl: BASE,
    random: () => 1,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
    ...extra,
  });
  return { mr, waits };
}
const rateLimited = (retryAfter: string) => () =>
  HttpResponse.json({ error: { code: 'rate_limited', message: 'Slow down' } }, { status: 429, headers: { 'retry-after': retryAfter } });

describe('Retry-After', () => {
  it('waits the seconds it asks for, then retries', async () => {
    api.route('post', '/v1/ai', rateLimited('2'), ok);
    const { mr, waits } = client();
    await expect(mr.ai.sync(body)).resolves.toEqual(okAnswer);
    expect(waits).toEqual([2000]);
  });

  it('understands an HTTP date', async () => {
    api.route('post', '/v1/ai', rateLimited(new Date(NOW + 7_000).toUTCString()), ok);
    const { mr, waits } = client();
    await mr.ai.sync(body);
    expect(waits).toEqual([7000]);
  });

  it('is honoured on a 503 too', async () => {
    api.route('post', '/v1/ai', () => new HttpResponse('busy', { status: 503, headers: { 'retry-after': '3' } }), ok);
    const { mr, waits } = client();
    await mr.ai.sync(body);
    expect(waits).toEqual([3000]);
  });

  it('fails at once with RateLimitError when it exceeds maxRetryAfterMs (a day is not waited)', async () => {
    api.route('post', '/v1/ai', rateLimited('86400'), ok);
    const { mr, waits } = client({ timeoutMs: 10 * 86_400_000 });
    const err = await mr.ai.sync(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 86_400_000 });
    expect((err as Error).message).toContain('maxRetryAfterMs');
    expect(waits).toEqual([]);
    expect(api.recorded).toHaveLength(1);
  });

  it('uses a custom cap', async () => {
    api.route('post', '/v1/ai', rateLimited('2'), ok);
    const { mr, waits } = client({ maxRetryAfterMs: 1000 });
    await expect(mr.ai.sync(body)).rejects.toMatchObject({ retryAfterMs: 2000 });
    expect(waits).toEqual([]);
  });

  it('reports retryAfterMs on a RateLimitError after the retries', async () => {
    api.route('post', '/v1/ai', rateLimited('1'));
    const { mr, waits } = client();
    await expect(mr.ai.sync(body)).rejects.toMatchObject({ name: 'RateLimitError', retryAfterMs: 1000 });
    expect(waits).toEqual([1000, 1000]);
  });
});

describe('one overall deadline', () => {
  it('does not start a wait that would pass the deadline: fails with the last error', async () => {
    api.route('post', '/v1/ai', () => HttpResponse.json({ error: { code: 'internal_error', message: 'x' } }, { status: 500 }));
    // random 1: waits of 500, 1000, 2000, 4000 ms; 500 + 1000 fit in 2 000 ms, 2 000 more do not.
    const { mr, waits } = client({ timeoutMs: 2_000, maxRetries: 10 });
    const err = await mr.ai.sync(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect((err as Error).message).toContain('deadline');
    expect(waits).toEqual([500, 1000]);
    expect(api.recorded).toHaveLength(3);
  });

  it('a Retry-After beyond the remaining time fails at once', async () => {
    api.route('post', '/v1/ai', rateLimited('5'), ok);
    const { mr, waits } = client({ timeoutMs: 4_000 });
    await expect(mr.ai.sync(body)).rejects.toBeInstanceOf(RateLimitError);
    expect(waits).toEqual([]);
  });

  it('covers every attempt: a gateway that never answers ends in TimeoutError at timeoutMs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    api.route('post', '/v1/ai', () => new Promise<Response>(() => {}));
    const mr = new ModelRiver({ apiKey: API_KEY, baseUrl: BASE, timeoutMs: 5_000 });
    const result = mr.ai.sync(body).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(api.recorded).toHaveLength(1);
    let settled = false;
    void result.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await result;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'timeout' });
    expect(api.recorded).toHaveLength(1);
  });

  it('the deadline is per call and may be given per call', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    api.route('post', '/v1/ai', () => new Promise<Response>(() => {}));
    const mr = new ModelRiver({ apiKey: API_KEY, baseUrl: BASE, timeoutMs: 60_000 });
    const result = mr.ai.sync(body, { timeoutMs: 100 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await result).toBeInstanceOf(TimeoutError);
  });

  it('refuses a timeoutMs no timer can wait (Infinity, above 2^31 − 1 ms) rather than timing out at once', async () => {
    api.route('post', '/v1/ai', ok);
    for (const timeoutMs of [Infinity, 2 ** 31, 1e12, Number.NaN, -1]) {
      await expect(client({ timeoutMs }).mr.ai.sync(body), String(timeoutMs)).rejects.toMatchObject({
        name: 'ModelRiverError',
        code: 'invalid_argument',
        message: expect.stringContaining('2147483647'),
      });
      await expect(client().mr.ai.sync(body, { timeoutMs }), String(timeoutMs)).rejects.toMatchObject({ code: 'invalid_argument' });
    }
    expect(api.recorded).toHaveLength(0);
    // The largest delay a timer can wait is accepted.
    await expect(client({ timeoutMs: 2 ** 31 - 1 }).mr.ai.sync(body)).resolves.toEqual(okAnswer);
  });

  it('a deadline in the middle of a real backoff wait ends it with TimeoutError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let answered = 0;
    api.route('post', '/v1/ai', async () => {
      await new Promise((r) => setTimeout(r, 800)); // a slow 500
      answered++;
      return HttpResponse.json({ error: { code: 'x', message: 'x' } }, { status: 500 });
    });
    // `now` frozen: the client believes 495 ms of backoff still fits, so it starts the wait at
    // 800 ms; the real deadline timer (1 000 ms) then lands inside it.
    const mr = new ModelRiver({ apiKey: API_KEY, baseUrl: BASE, timeoutMs: 1_000, random: () => 0.99, now: () => NOW });
    const result = mr.ai.sync(body).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(800);
    expect(answered).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(await result).toBeInstanceOf(TimeoutError);
    expect(answered).toBe(1);
    expect(api.recorded).toHaveLength(1);
  });
});

describe('AbortSignal', () => {
  it('cancels an attempt in flight at once', async () => {
    api.route('post', '/v1/ai', () => new Promise<Response>(() => {}));
    const { mr } = client();
    const ac = new AbortController();
    const result = mr.ai.sync(body, { signal: ac.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(api.recorded).toHaveLength(1));
    ac.abort(new Error('user left'));
    const err = await result;
    expect(err).toBeInstanceOf(RequestAbortedError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect((err as Error).cause).toEqual(new Error('user left'));
  });

  it('cancels a wait between attempts at once, even with a sleep that ignores the signal', async () => {
    api.route('post', '/v1/ai', rateLimited('30'), ok);
    let sleeping!: () => void;
    const slept = new Promise<void>((r) => (sleeping = r));
    const mr = new ModelRiver({
      apiKey: API_KEY,
      baseUrl: BASE,
      sleep: () => {
        sleeping();
        return new Promise(() => {}); // never wakes by itself
      },
    });
    const ac = new AbortController();
    const result = mr.ai.sync(body, { signal: ac.signal }).catch((e: unknown) => e);
    await slept;
    ac.abort();
    expect(await result).toBeInstanceOf(RequestAbortedError);
    expect(api.recorded).toHaveLength(1);
  });

  it('makes no request when already aborted', async () => {
    api.route('post', '/v1/ai', ok);
    const { mr } = client();
    await expect(mr.ai.sync(body, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(RequestAbortedError);
    expect(api.recorded).toHaveLength(0);
  });
});
