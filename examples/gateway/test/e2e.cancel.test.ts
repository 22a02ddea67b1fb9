import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { mockOutput } from '../src/providers/mock.js';
import { api, ask, joinAck, startAsync, startReceiver, type Receiver } from './e2e.helpers.js';

let gw: RunningGateway | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await gw?.close();
  await receiver?.close();
  gw = undefined;
  receiver = undefined;
});

describe('cancel', () => {
  it('a client cancel stops generation mid-stream: cancelled response with the text so far', async () => {
    // Slow tokens so the cancel lands mid-stream; a long answer so it cannot finish first.
    gw = await startGateway({ port: 0, mockTokenDelayMs: 15, mockTokens: 400 });
    receiver = await startReceiver();
    const ack = await startAsync(gw, 'chat', 'please stop soon', { webhook_url: receiver.url });
    const channel = await joinAck(ack);
    await channel.waitFor((e) => e.event === 'tokens');
    const reply = await channel.push('cancel', {});
    expect(reply['status']).toBe('ok');
    const final = await channel.terminal();
    await channel.close();

    expect(final.status).toBe('cancelled');
    expect(final.content).toBe(channel.text());
    expect(mockOutput({ messages: ask('please stop soon') }, { minTokens: 400 }).startsWith(final.content ?? '')).toBe(true);
    expect((final.content ?? '').length).toBeLessThan(mockOutput({ messages: ask('please stop soon') }, { minTokens: 400 }).length);
    expect(final.meta.attempts).toEqual([expect.objectContaining({ provider: 'mock', status: 'cancelled' })]);

    const hook = await receiver.waitFor((h) => h.body['type'] === 'task.failed');
    expect(hook.body).toMatchObject({ status: 'cancelled', error: { code: 'cancelled' } });
    const log = (await api(gw, `/v1/requests/${ack.channel_id}`)).body;
    expect(log.status).toBe('cancelled');
    expect(log.timeline.map((t: { event: string }) => t.event)).toContain('cancel_requested');
    expect(gw.stats().activeRequests).toBe(0);
  });

  it('cancelling while awaiting the callback ends the channel cancelled and refuses the callback', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat-event', 'cancel the wait');
    const channel = await joinAck(ack);
    await channel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');
    await channel.push('cancel', {});
    const final = await channel.terminal();
    await channel.close();
    expect(final.status).toBe('cancelled');
    expect((await api(gw, `/v1/callback/${ack.channel_id}`, { data: 1 })).status).toBe(409);
  });

  it('a cancel after the end changes nothing', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat', 'already done');
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    // The hub calls onCancel before it replies, so anything the cancel caused is already published.
    expect((await channel.push('cancel', {}))['status']).toBe('ok');
    await channel.close();
    expect(final.status).toBe('success');
    expect(channel.events.filter((e) => e.event === 'response')).toHaveLength(1);
    expect((await api(gw, `/v1/requests/${ack.channel_id}`)).body.status).toBe('success');
  });
});
