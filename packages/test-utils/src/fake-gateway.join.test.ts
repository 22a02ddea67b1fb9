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

describe('FakeGateway joins', () => {
  it('answers an ok join with the join_ref and ref, the server last_seq and a resume token', async () => {
    const ch = gw.createChannel();
    ch.tokens('a');
    ch.tokens('b');
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    client.send(['7', '8', ch.topic, 'phx_join', { last_seq: 2 }]);
    const reply = await client.waitFor((f) => f[3] === 'phx_reply');
    expect(reply).toEqual(['7', '8', ch.topic, 'phx_reply', { status: 'ok', response: { last_seq: 2, resume_token: ch.resumeTokens[0] } }]);
    expect(gw.connections[0]?.joinedTopics).toEqual([ch.topic]);
  });

  it.each([
    ['invalid_channel_format', (topic: string) => topic.replace('ai_response:', 'room:')],
    ['invalid_channel_format', () => 'ai_response:not-a-uuid:123'],
    ['not_found', (topic: string) => topic.slice(0, -12) + '000000000000'],
  ])('refuses with %s', async (reason, makeTopic) => {
    const ch = gw.createChannel();
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    expect(await client.join(makeTopic(ch.topic))).toEqual({ status: 'error', response: { reason } });
    // A refused join leaves the socket open and able to join its own topic.
    expect(await client.join(ch.topic)).toMatchObject({ status: 'ok' });
  });

  it('refuses an existing topic other than the token\'s as unauthorized', async () => {
    const mine = gw.createChannel();
    const other = gw.createChannel();
    client = await RawClient.connect(gw.socketUrl(mine.wsToken));
    expect(await client.join(other.topic)).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
    expect(other.joined).toEqual([]);
  });

  it('simulates a refusal with refuseJoinsWith', async () => {
    const ch = gw.createChannel();
    ch.refuseJoinsWith = 'unauthorized';
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    expect(await client.join(ch.topic)).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
    ch.refuseJoinsWith = null;
    expect(await client.join(ch.topic)).toMatchObject({ status: 'ok' });
  });

  it('answers phx_leave ok and stops delivering to the socket', async () => {
    const ch = gw.createChannel();
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    const joinRef = String(1);
    await client.join(ch.topic);
    expect(await client.push(ch.topic, 'phx_leave', {}, joinRef)).toEqual({ status: 'ok', response: {} });
    expect(ch.joined).toEqual([]);
    ch.tokens('late');
    // A round trip after the emit proves nothing was queued before it.
    await client.push('phoenix', 'heartbeat', {});
    expect(client.events()).toEqual([]);
  });

  it('waitForJoin resolves after the next successful join, with its replay already sent', async () => {
    const ch = gw.createChannel();
    ch.tokens('a');
    const joined = ch.waitForJoin();
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    ch.refuseJoinsWith = 'not_found';
    await client.join(ch.topic);
    ch.refuseJoinsWith = null;
    void client.join(ch.topic);
    const conn = await joined;
    expect(conn.sent.map((t) => JSON.parse(t)[3])).toEqual(['phx_reply', 'phx_reply', 'tokens']);
    await expect(ch.waitForJoin(10)).rejects.toMatchObject({ code: 'timeout' });
  });

  it('calls onJoin after the reply and replay, with the join_ref and last_seq', async () => {
    const ch = gw.createChannel();
    ch.tokens('a');
    ch.tokens('b');
    const seen: Array<{ sentBefore: number; joinRef: string | null; lastSeq: number }> = [];
    ch.onJoin = (conn, join) => seen.push({ sentBefore: conn.sent.length, ...join });
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    client.send(['9', '10', ch.topic, 'phx_join', { last_seq: 1 }]);
    await client.nextEvent('tokens');
    expect(seen).toEqual([{ sentBefore: 2, joinRef: '9', lastSeq: 1 }]);
  });

  it('answers a push to a topic not joined with an error', async () => {
    const ch = gw.createChannel();
    client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    expect(await client.push(ch.topic, 'cancel', {})).toEqual({ status: 'error', response: { reason: 'unmatched_topic' } });
  });
});
