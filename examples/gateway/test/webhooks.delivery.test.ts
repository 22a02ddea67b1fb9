import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebhookDispatcher, type WebhookDispatcher } from '../src/webhooks/index.js';
import { SECRET, completedEvent, recorder, startReceiver, type Receiver } from './webhooks.helpers.js';

const CHANNEL = '6f1c7a52-3c53-4f4e-9d1e-0d1b5b0f7a11';

function headersOf(req: { headers: Record<string, string | string[] | undefined> }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

describe('webhook delivery: signing and sending', () => {
  let receiver: Receiver | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  afterEach(async () => {
    await dispatcher?.close();
    await receiver?.close();
    receiver = undefined;
    dispatcher = undefined;
  });

  it('posts the exact serialised body, verifiable by standardwebhooks and by mr-signature', async () => {
    receiver = await startReceiver(() => 200);
    const rec = recorder();
    const fixedNow = Date.now();
    dispatcher = createWebhookDispatcher({ secret: SECRET, now: () => fixedNow, onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const event = completedEvent();

    const delivery = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: event });
    expect(delivery).toMatchObject({ id: event.id, url: receiver.url, channelId: CHANNEL, type: 'task.completed', state: 'pending' });
    await rec.waitFor(() => rec.settled.length === 1);

    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/hooks');
    expect(req.body).toBe(JSON.stringify(event));
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['mr-channel-id']).toBe(CHANNEL);
    expect(req.headers['mr-webhook-id']).toBe(event.id);
    expect(req.headers['webhook-id']).toBe(event.id);
    const ts = String(Math.floor(fixedNow / 1000));
    expect(req.headers['mr-timestamp']).toBe(ts);
    expect(req.headers['webhook-timestamp']).toBe(ts);

    // Standard Webhooks: any library verifies the delivery.
    expect(new Webhook(SECRET).verify(req.body, headersOf(req))).toEqual(event);
    // ModelRiver scheme: hex HMAC-SHA256 keyed by the whole secret string over `{ts}.{body}`.
    const expected = createHmac('sha256', SECRET).update(`${ts}.`).update(req.raw).digest('hex');
    expect(req.headers['mr-signature']).toBe(expected);
    // The check above is not vacuous: a changed byte fails it.
    expect(() => new Webhook(SECRET).verify(req.body.replace('wörld', 'world'), headersOf(req))).toThrow();

    expect(delivery.state).toBe('delivered');
    expect(delivery.attempts).toEqual([{ attempt: 1, at: new Date(fixedNow).toISOString(), status: 200, duration_ms: 0 }]);
    expect(rec.attempts).toHaveLength(1);
    expect(rec.settled).toEqual([{ id: event.id, state: 'delivered' }]);
    expect(await dispatcher.deadLetters()).toEqual([]);
    expect(await dispatcher.get(event.id)).toBe(delivery);
  });

  it('counts any 2xx as success', async () => {
    receiver = await startReceiver((n) => [204, 299][n] ?? 200);
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, retryScheduleMs: [], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const a = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    const b = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 2);
    expect([a.state, b.state]).toEqual(['delivered', 'delivered']);
    expect([a.attempts[0]?.status, b.attempts[0]?.status]).toEqual([204, 299]);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    receiver = await startReceiver((n) => (n === 0 ? { status: 307, headers: { location: '/elsewhere' } } : 200));
    const rec = recorder();
    dispatcher = createWebhookDispatcher({ secret: SECRET, retryScheduleMs: [], onAttempt: rec.onAttempt, onSettled: rec.onSettled });
    const delivery = dispatcher.deliver({ url: receiver.url, channelId: CHANNEL, body: completedEvent() });
    await rec.waitFor(() => rec.settled.length === 1);
    expect(receiver.requests.map((r) => r.path)).toEqual(['/hooks']);
    expect(delivery.state).toBe('dead');
    expect(delivery.attempts[0]).toMatchObject({ status: 307, error: expect.stringContaining('redirect') });
  });
});
