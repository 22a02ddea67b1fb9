import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookDispatcher, type WebhookDispatcher } from '../src/webhooks/index.js';
import { SECRET, completedEvent, recorder, startReceiver, unusedPort, type Receiver } from './webhooks.helpers.js';

const CHANNEL = '0b8f6a4e-9d1c-4c1e-8f7a-2e4d5c6b7a81';

function stringHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

describe('webhook retries, timeouts, dead letters (real receiver)', () => {
  let receiver: Receiver | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  afterEach(async () => {
    await dispatcher?.close();
    await receiver?.close();
    receiver = undefined;
    dispatcher = undefined;
  });

  it('retries a 500 with the same id, the same bytes and a fresh timestamp and signature per attempt', async () => {
    receiver = await startReceiver((n) => (n < 2 ? 500 : 200));
    const rec = recorder();
    // Every reading of the clock moves it 1.5 s, so each attempt lands on a different second.
    let clock = Date.now() - 60_000;
    dispatcher = createWebhookDispatcher({
      secret: SECRET,
      retryScheduleMs: [5, 5, 5],
      now: () => (clock += 1_500),
      onAttempt: rec.onAttempt,
      onSettled: rec.onSettled,
    });
    const event = completedEvent();
    const delivery = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: event });
    await rec.waitFor(() => rec.settled.length === 1);

    expect(receiver.requests).toHaveLength(3);
    const bodies = new Set(receiver.requests.map((r) => r.body));
    expect([...bodies]).toEqual([JSON.stringify(event)]);
    for (const req of receiver.requests) {
      expect(req.headers['webhook-id']).toBe(event.id);
      expect(req.headers['mr-webhook-id']).toBe(event.id);
      expect(new Webhook(SECRET).verify(req.body, stringHeaders(req.headers))).toEqual(event);
      const ts = req.headers['mr-timestamp'] as string;
      expect(req.headers['mr-signature']).toBe(createHmac('sha256', SECRET).update(`${ts}.${req.body}`).digest('hex'));
    }
    const timestamps = receiver.requests.map((r) => r.headers['webhook-timestamp']);
    expect(new Set(timestamps).size).toBe(3);
    expect(new Set(receiver.requests.map((r) => r.headers['mr-signature'])).size).toBe(3);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-signature'])).size).toBe(3);

    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts.map((a) => [a.attempt, a.status, a.error])).toEqual([
      [1, 500, undefined],
      [2, 500, undefined],
      [3, 200, undefined],
    ]);
    // The request log sees every attempt as it happens, in order.
    expect(rec.attempts.map((a) => [a.id, a.attempt.attempt, a.attempt.status])).toEqual([
      [event.id, 1, 500],
      [event.id, 2, 500],
      [event.id, 3, 200],
    ]);
    expect(rec.settled).toEqual([{ id: event.id, state: 'delivered' }]);
  });

  it('counts a receiver that does not answer within the timeout as a failed attempt', async () => {
    receiver = await startReceiver((n) => (n === 0 ? 'hang' : 200));
    const rec = recorder();
    dispatcher = createWebhookDispatcher({
      secret: SECRET,
      timeoutMs: 150,
      retryScheduleMs: [5],
      onAttempt: rec.onAttempt,
      onSettled: rec.onSettled,
    });
    const delivery = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    expect(receiver.requests).toHaveLength(2);
    expect(delivery.attempts[0]).toMatchObject({ attempt: 1, error: expect.stringMatching(/^timeout/) });
    expect(delivery.attempts[0]?.status).toBeUndefined();
    expect(delivery.attempts[1]).toMatchObject({ attempt: 2, status: 200 });
    expect(delivery.state).toBe('delivered');
  });

  it('dead-letters after the schedule, and replay delivers with a fresh schedule', async () => {
    let healthy = false;
    receiver = await startReceiver(() => (healthy ? 200 : 503));
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, retryScheduleMs: [5, 5], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const event = completedEvent();
    const delivery = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: event });
    await rec.waitFor(() => rec.settled.length === 1);

    expect(delivery.state).toBe('dead');
    expect(delivery.attempts.map((a) => a.status)).toEqual([503, 503, 503]);
    expect(await dispatcher.deadLetters()).toEqual([delivery]);
    expect(rec.settled).toEqual([{ id: event.id, state: 'dead' }]);

    healthy = true;
    expect(await dispatcher.replay('evt_unknown')).toBeUndefined();
    const replayed = await dispatcher.replay(event.id);
    expect(replayed).toBe(delivery);
    expect(replayed?.state).toBe('pending');
    await rec.waitFor(() => rec.settled.length === 2);

    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts.map((a) => [a.attempt, a.status])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
      [4, 200],
    ]);
    expect(await dispatcher.deadLetters()).toEqual([]);
    expect(receiver.requests).toHaveLength(4);
    expect(receiver.requests[3]?.headers['webhook-id']).toBe(event.id);
    expect(receiver.requests[3]?.body).toBe(JSON.stringify(event));
  });

  it('replayed deliveries get the whole schedule again before dying', async () => {
    receiver = await startReceiver(() => 500);
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, retryScheduleMs: [5], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    await dispatcher.replay(delivery.id);
    await rec.waitFor(() => rec.settled.length === 2);
    expect(delivery.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(delivery.state).toBe('dead');
  });

  it('an unreachable URL gives failed attempts and a dead letter, never an exception', async () => {
    const port = await unusedPort();
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, retryScheduleMs: [5, 5], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: `http://127.0.0.1:${port}/hooks`, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    expect(delivery.state).toBe('dead');
    expect(delivery.attempts).toHaveLength(3);
    for (const a of delivery.attempts) {
      expect(a.status).toBeUndefined();
      expect(a.error).toMatch(/^network error: ECONNREFUSED/);
    }
    expect((await dispatcher.deadLetters()).map((d) => d.id)).toEqual([delivery.id]);
  });
});
