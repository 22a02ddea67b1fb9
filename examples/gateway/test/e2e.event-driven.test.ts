import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { api, joinAck, startAsync, startReceiver, type Receiver, type ReceivedWebhook } from './e2e.helpers.js';

let gw: RunningGateway | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await gw?.close();
  await receiver?.close();
  gw = undefined;
  receiver = undefined;
});

function verify(hook: ReceivedWebhook, secret: string): void {
  const headers = Object.fromEntries(Object.entries(hook.headers).map(([k, v]) => [k, String(v)]));
  // Standard Webhooks scheme, with the reference library.
  expect(() => new Webhook(secret).verify(hook.raw, headers)).not.toThrow();
  // ModelRiver scheme: hex HMAC-SHA256 keyed by the whole secret string over `{timestamp}.{body}`.
  const expected = createHmac('sha256', secret).update(`${headers['mr-timestamp']}.${hook.raw}`).digest('hex');
  expect(headers['mr-signature']).toBe(expected);
  expect(headers['mr-channel-id']).toBe(hook.body['channel_id']);
  expect(headers['mr-webhook-id']).toBe(hook.body['id']);
}

describe('event-driven requests', () => {
  it('ai_generated → signed webhook → callback → completed, all in the request log', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    receiver = await startReceiver();
    const ack = await startAsync(gw, 'chat-event', 'New chat from Ada', { webhook_url: receiver.url, metadata: { crm: 'c-1' } });
    const channel = await joinAck(ack);

    const generated = await channel.waitFor((e) => e.event === 'response' && e.payload['status'] === 'ai_generated');
    expect(generated.payload).toMatchObject({
      event_name: 'new_chat',
      ai_response: { data: { content: channel.text() } },
      customer_data: { crm: 'c-1' },
      content: channel.text(),
    });
    await channel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');

    const hook = await receiver.waitFor((h) => h.body['type'] === 'task.ai_generated');
    verify(hook, gw.webhookSecret);
    expect(hook.body).toMatchObject({
      type: 'task.ai_generated',
      workflow: 'chat-event',
      status: 'ai_generated',
      channel_id: ack.channel_id,
      event: 'new_chat',
      ai_response: { data: { content: channel.text() } },
      callback_url: `${gw.url}/v1/callback/${ack.channel_id}`,
      callback_required: true,
      customer_data: { crm: 'c-1' },
      meta: { provider: 'mock' },
    });
    expect(hook.body['id']).toMatch(/^evt_/);
    expect(Date.parse(hook.body['timestamp'])).not.toBeNaN();

    const callback = await fetch(hook.body['callback_url'], {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { ticket: 42, summary: 'enriched' }, task_id: 'task-9', metadata: { source: 'crm' } }),
    });
    expect(callback.status).toBe(200);
    expect(await callback.json()).toEqual({ status: 'ok' });

    const final = await channel.terminal();
    await channel.close();
    expect(final).toMatchObject({
      status: 'completed',
      data: { ticket: 42, summary: 'enriched' },
      task_id: 'task-9',
      callback_metadata: { source: 'crm' },
      event_name: 'new_chat',
      customer_data: { crm: 'c-1' },
    });

    // A second callback is a state conflict.
    const again = await api(gw, `/v1/callback/${ack.channel_id}`, { data: {} });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('invalid_state');

    const log = (await api(gw, `/v1/requests/${ack.channel_id}`)).body;
    expect(log).toMatchObject({
      workflow: 'chat-event',
      status: 'completed',
      event_name: 'new_chat',
      callback: { status: 'received', received_at: expect.any(String), deadline: expect.any(String) },
    });
    expect(log.webhooks).toEqual([
      expect.objectContaining({ id: hook.body['id'], type: 'task.ai_generated', url: receiver.url, state: 'delivered', attempts: [expect.objectContaining({ attempt: 1, status: 200 })] }),
    ]);
    const events = log.timeline.map((t: { event: string }) => t.event);
    const order = ['accepted', 'status:queued', 'status:processing', 'first_token', 'status:ai_generated', 'status:awaiting_callback', 'callback_received', 'status:completed'];
    let last = -1;
    for (const name of order) {
      const at = events.indexOf(name, last + 1);
      expect(at, `${name} after index ${last} in ${events.join(',')}`).toBeGreaterThan(last);
      last = at;
    }
  });

  it('a callback with an error ends the channel with that error', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat-event', 'will fail downstream');
    const channel = await joinAck(ack);
    await channel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');
    const answer = await api(gw, `/v1/callback/${ack.channel_id}`, { error: 'crm_unavailable', message: 'CRM is down' });
    expect(answer.status).toBe(200);
    const final = await channel.terminal();
    await channel.close();
    expect(final).toMatchObject({ status: 'error', error: { code: 'crm_unavailable', message: 'CRM is down' } });
  });

  it('ends with callback_timeout when no callback comes before the deadline, and then refuses a late one', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0, callbackTimeoutMs: 100, webhookRetryScheduleMs: [] });
    receiver = await startReceiver();
    const ack = await startAsync(gw, 'chat-event', 'nobody answers', { webhook_url: receiver.url });
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();
    expect(final).toMatchObject({ status: 'error', error: { code: 'callback_timeout' } });
    const failed = await receiver.waitFor((h) => h.body['type'] === 'task.failed');
    expect(failed.body).toMatchObject({ status: 'error', error: { code: 'callback_timeout' }, channel_id: ack.channel_id });
    verify(failed, gw.webhookSecret);

    const late = await api(gw, `/v1/callback/${ack.channel_id}`, { data: { too: 'late' } });
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('invalid_state');
    const log = (await api(gw, `/v1/requests/${ack.channel_id}`)).body;
    expect(log.callback).toMatchObject({ status: 'timed_out', received_at: null });
    expect(log.error).toMatchObject({ code: 'callback_timeout' });
  });

  it('makes any workflow event-driven when the request lists events', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat-structured', 'structured event', { events: ['lead_scored'] });
    const channel = await joinAck(ack);
    const generated = await channel.waitFor((e) => e.event === 'response' && e.payload['status'] === 'ai_generated');
    expect(generated.payload['event_name']).toBe('lead_scored');
    expect(generated.payload['ai_response']).toEqual({ data: generated.payload['data'] });
    expect(generated.payload['data']).toHaveProperty('sentiment');
    expect((await api(gw, `/v1/callback/${ack.channel_id}`, { data: null })).status).toBe(200);
    expect((await channel.terminal()).status).toBe('completed');
    await channel.close();
  });

  it('answers 409 for a callback on a channel that is not event-driven, 404 for an unknown one', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat', 'plain');
    const channel = await joinAck(ack);
    await channel.terminal();
    await channel.close();
    const conflict = await api(gw, `/v1/callback/${ack.channel_id}`, { data: 1 });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error.code).toBe('invalid_state');
    const unknown = await api(gw, '/v1/callback/3f0a6a4e-8c1d-4a43-9d59-0b8a3c2f1e77', { data: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('sends task.completed for a plain request with a webhook_url, with content and meta', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    receiver = await startReceiver();
    const ack = await startAsync(gw, 'chat-structured', 'hook me', { webhook_url: receiver.url, delivery_method: 'websocket', metadata: { k: 'v' } });
    const hook = await receiver.waitFor((h) => h.body['type'] === 'task.completed');
    verify(hook, gw.webhookSecret);
    expect(hook.body).toMatchObject({ status: 'success', workflow: 'chat-structured', channel_id: ack.channel_id, customer_data: { k: 'v' } });
    expect(JSON.parse(hook.body['content'])).toEqual(hook.body['data']);
  });
});
