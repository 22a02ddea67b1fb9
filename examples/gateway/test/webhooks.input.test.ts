import { describe, expect, it } from 'vitest';
import type { WebhookEvent } from '@modelriver/node';
import { WebhookConfigError, createWebhookDispatcher, type CreateWebhookDispatcherOptions } from '../src/webhooks/index.js';
import { SECRET, completedEvent, recorder } from './webhooks.helpers.js';

const URL_ = 'http://127.0.0.1:9/hooks';
const CHANNEL = 'c0ffee00-0000-4000-8000-000000000002';

function countingFetch(status = 200): { fetch: typeof fetch; count: () => number } {
  let n = 0;
  return {
    fetch: (async () => {
      n += 1;
      return new Response(null, { status });
    }) as typeof fetch,
    count: () => n,
  };
}

function configError(options: Partial<CreateWebhookDispatcherOptions>): unknown {
  try {
    createWebhookDispatcher({ secret: SECRET, ...options });
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('dispatcher options', () => {
  it('refuses unusable options with a typed error and a stable code', () => {
    const cases: Array<[Partial<CreateWebhookDispatcherOptions>, string]> = [
      [{ secret: 'whsec_' }, 'invalid_webhook_secret'],
      [{ secret: 'whsec_not base64!' }, 'invalid_webhook_secret'],
      [{ secret: undefined as unknown as string }, 'invalid_webhook_secret'],
      [{ maxDead: 1.5 }, 'invalid_webhook_option'],
      [{ retryScheduleMs: [5, -1] }, 'invalid_retry_schedule'],
      [{ retryScheduleMs: [Number.NaN] }, 'invalid_retry_schedule'],
      [{ retryScheduleMs: [2 ** 31] }, 'invalid_retry_schedule'],
      [{ retryScheduleMs: 'soon' as unknown as number[] }, 'invalid_retry_schedule'],
      [{ timeoutMs: 0 }, 'invalid_webhook_timeout'],
      [{ timeoutMs: Number.POSITIVE_INFINITY }, 'invalid_webhook_timeout'],
      [{ maxDelivered: -1 }, 'invalid_webhook_option'],
    ];
    for (const [options, code] of cases) {
      const err = configError(options);
      expect(err, JSON.stringify(options)).toBeInstanceOf(WebhookConfigError);
      expect((err as WebhookConfigError).code).toBe(code);
    }
    expect(configError({ retryScheduleMs: [], timeoutMs: 1 })).toBeUndefined();
  });

  it('copies the schedule, so later changes to the caller’s array do not apply', async () => {
    const schedule = [1, 1];
    const f = countingFetch(500);
    const rec = recorder();
    const d = createWebhookDispatcher({ secret: SECRET, retryScheduleMs: schedule, fetch: f.fetch, onSettled: rec.onSettled });
    schedule.push(1, 1, 1);
    d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    expect(f.count()).toBe(3);
    await d.close();
  });
});

describe('deliver never throws on bad input', () => {
  const bad: Array<[string, { url: unknown; channelId: unknown; body: unknown }, RegExp]> = [
    ['an unparseable url', { url: 'not a url', channelId: CHANNEL, body: completedEvent() }, /url is not a valid URL/],
    ['a non-http url', { url: 'ftp://example.com/x', channelId: CHANNEL, body: completedEvent() }, /url must be http\(s\)/],
    ['a missing channel id', { url: URL_, channelId: '', body: completedEvent() }, /channelId/],
    ['a body without id', { url: URL_, channelId: CHANNEL, body: { ...completedEvent(), id: undefined } }, /body\.id/],
    ['a non-object body', { url: URL_, channelId: CHANNEL, body: 'hello' }, /body must be/],
    ['an unserialisable body', { url: URL_, channelId: CHANNEL, body: { ...completedEvent(), data: 10n } }, /not JSON-serialisable/],
  ];
  for (const [name, input, message] of bad) {
    it(`dead-letters ${name} at once, without sending or retrying`, async () => {
      const f = countingFetch();
      const rec = recorder();
      const d = createWebhookDispatcher({ secret: SECRET, fetch: f.fetch, retryScheduleMs: [1, 1], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
      const delivery = d.deliver(input as { url: string; channelId: string; body: WebhookEvent });
      expect(delivery.state).toBe('pending');
      await rec.waitFor(() => rec.settled.length === 1);
      expect(f.count()).toBe(0);
      expect(delivery.state).toBe('dead');
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]?.error).toMatch(/^invalid_delivery: /);
      expect(delivery.attempts[0]?.error).toMatch(message);
      expect(delivery.id.length).toBeGreaterThan(0);
      expect(await d.deadLetters()).toEqual([delivery]);
      await d.close();
    });
  }

  it('turns a fetch that throws synchronously into a failed attempt', async () => {
    const rec = recorder();
    const d = createWebhookDispatcher({
      secret: SECRET,
      retryScheduleMs: [],
      fetch: (() => {
        throw new TypeError('boom');
      }) as unknown as typeof fetch,
      onSettled: rec.onSettled,
    });
    const delivery = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    expect(delivery.attempts[0]?.error).toBe('network error: boom');
    await d.close();
  });
});

describe('no duplicates, no losses', () => {
  it('treats a second deliver of the same id as the same delivery', async () => {
    const f = countingFetch();
    const rec = recorder();
    const d = createWebhookDispatcher({ secret: SECRET, fetch: f.fetch, onSettled: rec.onSettled });
    const event = completedEvent();
    const first = d.deliver({ url: URL_, channelId: CHANNEL, body: event });
    const second = d.deliver({ url: URL_, channelId: CHANNEL, body: event });
    expect(second).toBe(first);
    await rec.waitFor(() => rec.settled.length === 1);
    expect(d.deliver({ url: URL_, channelId: CHANNEL, body: event })).toBe(first);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(f.count()).toBe(1);
    await d.close();
  });

  it('replay of a pending or delivered delivery sends nothing more', async () => {
    const f = countingFetch();
    const rec = recorder();
    const d = createWebhookDispatcher({ secret: SECRET, fetch: f.fetch, onSettled: rec.onSettled });
    const delivery = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    expect(await d.replay(delivery.id)).toBe(delivery);
    await rec.waitFor(() => rec.settled.length === 1);
    expect(await d.replay(delivery.id)).toBe(delivery);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(f.count()).toBe(1);
    expect(delivery.attempts).toHaveLength(1);
    await d.close();
  });

  it('keeps delivering when a callback throws', async () => {
    const f = countingFetch(500);
    let attempts = 0;
    let settled!: () => void;
    const done = new Promise<void>((resolve) => (settled = resolve));
    const d = createWebhookDispatcher({
      secret: SECRET,
      fetch: f.fetch,
      retryScheduleMs: [1, 1],
      onAttempt: () => {
        attempts += 1;
        throw new Error('log sink down');
      },
      onSettled: () => {
        settled();
        throw new Error('log sink down');
      },
    });
    const delivery = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await done;
    expect(attempts).toBe(3);
    expect(delivery.state).toBe('dead');
    expect(delivery.attempts).toHaveLength(3);
    expect(await d.deadLetters()).toEqual([delivery]);
    await d.close();
  });

  it('forgets the oldest delivered deliveries beyond maxDelivered, leaving dead ones to their own cap', async () => {
    let status = 200;
    const fetchImpl = (async () => new Response(null, { status })) as typeof fetch;
    const rec = recorder();
    const d = createWebhookDispatcher({ secret: SECRET, fetch: fetchImpl, retryScheduleMs: [], maxDelivered: 1, onSettled: rec.onSettled });
    status = 500;
    const dead = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    status = 200;
    const a = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 2);
    const b = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 3);
    expect(await d.get(a.id)).toBeUndefined();
    expect(await d.get(b.id)).toBe(b);
    expect(await d.get(dead.id)).toBe(dead);
    expect(await d.deadLetters()).toEqual([dead]);
    await d.close();
  });

  it('forgets the deliveries dead longest beyond maxDead; a replay that dies again counts as newest', async () => {
    const failing = countingFetch(500);
    const rec = recorder();
    const d = createWebhookDispatcher({ secret: SECRET, fetch: failing.fetch, retryScheduleMs: [], maxDead: 2, onSettled: rec.onSettled });
    const deliverDead = async () => {
      const delivery = d.deliver({ url: URL_, channelId: CHANNEL, body: completedEvent() });
      const settledBefore = rec.settled.length;
      await rec.waitFor(() => rec.settled.length === settledBefore + 1);
      return delivery;
    };
    const a = await deliverDead();
    const b = await deliverDead();
    expect(await d.deadLetters()).toEqual([a, b]);

    const c = await deliverDead();
    expect(await d.deadLetters()).toEqual([b, c]);
    expect(await d.get(a.id)).toBeUndefined();
    expect(await d.replay(a.id)).toBeUndefined();

    // b leaves the dead letters while pending again, and comes back as the newest dead one.
    await d.replay(b.id);
    expect(await d.deadLetters()).toEqual([c]);
    await rec.waitFor(() => rec.settled.length === 4);
    expect(b.state).toBe('dead');
    expect(await d.deadLetters()).toEqual([c, b]);

    const e = await deliverDead();
    expect(await d.deadLetters()).toEqual([b, e]);
    expect(await d.get(c.id)).toBeUndefined();
    expect(failing.count()).toBe(5);
    await d.close();
  });
});
