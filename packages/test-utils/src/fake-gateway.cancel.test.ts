import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGateway } from './fake-gateway.js';
import { RawClient } from './raw-client.js';

let gw: FakeGateway;
let client: RawClient | null = null;

beforeEach(async () => {
  gw = await FakeGateway.start();
});
afterEach(async () => {
  client?.close();
  client = null;
  await gw.close();
});

describe('FakeGateway cancel', () => {
  it('answers cancel ok, then ends the channel with a cancelled response carrying the text so far', async () => {
    const ch = gw.createChannel();
    ch.tokens('part');
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    await client.join(ch.topic);
    expect(await client.push(ch.topic, 'cancel', {}, '1')).toEqual({ status: 'ok', response: {} });
    expect(await client.nextEvent('response')).toEqual({ seq: 2, status: 'cancelled', channel_id: ch.channelId, meta: {}, content: 'part' });
    expect(ch.ended).toBe('cancelled');
  });

  it('stops a running streamText', async () => {
    const ch = gw.createChannel();
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    await client.join(ch.topic);
    const streaming = ch.streamText('a'.repeat(1_000), { chunkSize: 1, intervalMs: 1 });
    await client.nextEvent('tokens');
    await client.push(ch.topic, 'cancel', {}, '1');
    await streaming;
    const last = ch.log.at(-1);
    expect(last?.event).toBe('response');
    expect(last?.payload).toMatchObject({ status: 'cancelled' });
    expect(ch.log.filter((e) => e.event === 'response')).toHaveLength(1);
    expect(ch.text.length).toBeLessThan(1_000);
  });

  it('calls onCancel instead when set', async () => {
    const ch = gw.createChannel();
    let calls = 0;
    ch.onCancel = () => {
      calls += 1;
    };
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    await client.join(ch.topic);
    expect(await client.push(ch.topic, 'cancel', {}, '1')).toMatchObject({ status: 'ok' });
    expect(calls).toBe(1);
    expect(ch.ended).toBeNull();
  });
});
