import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyStrict, openChannel, replyOf, startHub, TestClient, topicFor, type HubFixture } from './channels.harness.js';

let fx: HubFixture | undefined;
let clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await fx?.close();
  fx = undefined;
});

async function connect(token: string): Promise<TestClient> {
  const client = await TestClient.connect(fx!.socketUrl, token);
  clients.push(client);
  return client;
}

/** status, 3 tokens, tool_call, 2 tokens: seqs 1..7. */
function publishSample(channel: Awaited<ReturnType<typeof openChannel>>['channel']): void {
  channel.publish('status', { status: 'processing', provider: 'mock' });
  channel.publish('tokens', { delta: 'Hel' });
  channel.publish('tokens', { delta: 'lo, ' });
  channel.publish('tokens', { delta: 'wörld' });
  channel.publish('tool_call', { index: 0, id: 'call_1', name: 'lookup', arguments: '{"q":' });
  channel.publish('tokens', { delta: '!' });
  channel.publish('tokens', { delta: '?' });
}

describe('join replies', () => {
  it('answers ok with the latest seq and a resume token', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    channel.publish('status', { status: 'queued' });
    const client = await connect(token);
    const reply = await client.join(topic);
    expect(reply[0]).toBe(reply[1]);
    expect(reply[2]).toBe(topic);
    expect(replyOf(reply)).toEqual({ status: 'ok', response: { last_seq: 1, resume_token: expect.any(String) } });
  });

  it('refuses a malformed topic with invalid_channel_format and keeps the socket open', async () => {
    fx = await startHub();
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    for (const bad of ['room:lobby', 'ai_response:nope:nope', `${topic}:extra`, `ai_response:${topic.split(':')[2]}`]) {
      expect(replyOf(await client.join(bad))).toEqual({ status: 'error', response: { reason: 'invalid_channel_format' } });
    }
    expect(replyOf(await client.heartbeat()).status).toBe('ok');
    expect(replyOf(await client.join(topic)).status).toBe('ok');
  });

  it('refuses a well-formed topic of an unknown channel as unauthorized (the token names another)', async () => {
    fx = await startHub();
    const { token } = await openChannel(fx.hub);
    const client = await connect(token);
    const other = topicFor('00000000-0000-4000-8000-000000000000');
    expect(replyOf(await client.join(other))).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
  });
});

describe('replay', () => {
  it('sends every logged event after last_seq 0, merging runs of tokens, then live events', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    publishSample(channel);
    const client = await connect(token);
    const reply = await client.join(topic);
    const joinRef = reply[0];
    await client.waitFor((f) => f[3] === 'tokens' && (f[4] as { seq: number }).seq === 7);
    channel.publish('response', { status: 'success', channel_id: channel.channelId, content: 'Hello, wörld!?', meta: {} });
    await client.waitFor((f) => f[3] === 'response');

    const events = client.events(topic);
    expect(events.map((f) => [f[0], f[1], f[3], f[4]])).toEqual([
      [joinRef, null, 'status', { seq: 1, status: 'processing', provider: 'mock' }],
      [joinRef, null, 'tokens', { seq: 4, first_seq: 2, delta: 'Hello, wörld' }],
      [joinRef, null, 'tool_call', { seq: 5, index: 0, id: 'call_1', name: 'lookup', arguments: '{"q":' }],
      [joinRef, null, 'tokens', { seq: 7, first_seq: 6, delta: '!?' }],
      [joinRef, null, 'response', expect.objectContaining({ seq: 8, status: 'success' })],
    ]);
    // The reply comes before the replay.
    expect(client.frames.indexOf(reply)).toBeLessThan(client.frames.indexOf(events[0]!));
    expect(applyStrict(events).text).toBe('Hello, wörld!?');
  });

  it('sends only what follows last_seq, a lone token unmerged', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    publishSample(channel);
    const client = await connect(token);
    expect(replyOf(await client.join(topic, { last_seq: 3 })).response.last_seq).toBe(7);
    await client.waitFor((f) => (f[4] as { seq?: number }).seq === 7);
    await client.heartbeat();
    expect(client.events(topic).map((f) => f[4])).toEqual([
      { seq: 4, delta: 'wörld' },
      { seq: 5, index: 0, id: 'call_1', name: 'lookup', arguments: '{"q":' },
      { seq: 7, first_seq: 6, delta: '!?' },
    ]);
  });

  it('sends nothing from the log when last_seq is the latest, then live events', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    publishSample(channel);
    const client = await connect(token);
    await client.join(topic, { last_seq: 7 });
    channel.publish('tokens', { delta: 'live' });
    const live = await client.waitFor((f) => f[3] === 'tokens');
    expect(live[4]).toEqual({ seq: 8, delta: 'live' });
    expect(client.events(topic)).toHaveLength(1);
  });

  it.each([[-1], [1.5], ['3'], [null], [Number.MAX_VALUE]])('treats last_seq %j as 0 (full replay)', async (lastSeq) => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    publishSample(channel);
    const client = await connect(token);
    await client.join(topic, { last_seq: lastSeq });
    await client.waitFor((f) => (f[4] as { seq?: number }).seq === 7);
    expect(applyStrict(client.events(topic)).lastSeq).toBe(7);
  });

  it('treats a non-object join payload as last_seq 0', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    publishSample(channel);
    const client = await connect(token);
    const ref = client.nextRef();
    client.sendRaw(JSON.stringify([ref, ref, topic, 'phx_join', 'nope']));
    await client.waitFor((f) => (f[4] as { seq?: number }).seq === 7);
    expect(applyStrict(client.events(topic)).text).toBe('Hello, wörld!?');
  });

  it('a rejoin on the same socket replaces the subscription: nothing is delivered twice', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    const client = await connect(token);
    const first = await client.join(topic);
    channel.publish('tokens', { delta: 'a' });
    await client.waitFor((f) => f[3] === 'tokens');
    const second = await client.join(topic, { last_seq: 1 });
    channel.publish('tokens', { delta: 'b' });
    const b = await client.waitFor((f) => f[3] === 'tokens' && (f[4] as { seq: number }).seq === 2);
    await client.heartbeat();
    expect(b[0]).toBe(second[0]);
    expect(b[0]).not.toBe(first[0]);
    expect(applyStrict(client.events(topic)).text).toBe('ab');
    expect(fx.hub.stats()).toMatchObject({ sockets: 1, joined: 1 });
  });
});

describe('socket-level frames', () => {
  it('answers heartbeats', async () => {
    fx = await startHub();
    const client = await connect((await openChannel(fx.hub)).token);
    const reply = await client.heartbeat();
    expect(reply).toEqual([null, reply[1], 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('drops undecodable frames and keeps the socket open', async () => {
    fx = await startHub({ maxFrameBytes: 1024 });
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    const bad = [
      'not json',
      '{"a":1}',
      '[null,"1","phoenix","heartbeat"]',
      '[null,"1","phoenix","heartbeat",{},6]',
      '[null,1.5,"phoenix","heartbeat",{}]',
      '[null,"1",7,"heartbeat",{}]',
      '[null,"1","phoenix",null,{}]',
      '[null,"1","phoenix","",{}]',
      `[null,"1","phoenix","heartbeat",{"pad":"${'x'.repeat(2000)}"}]`,
      '',
    ];
    for (const frame of bad) client.sendRaw(frame);
    client.sendRaw(Buffer.from('[null,"1","phoenix","heartbeat",{}]'), true);
    const before = client.rawCount;
    expect(replyOf(await client.heartbeat()).status).toBe('ok');
    expect(client.rawCount).toBe(before + 1);
    expect(fx.hub.stats().droppedFrames).toBe(bad.length + 1);
    expect(replyOf(await client.join(topic)).status).toBe('ok');
  });

  it('answers an event on a topic it has not joined with unmatched_topic', async () => {
    fx = await startHub();
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    expect(replyOf(await client.push(topic, 'cancel', {}))).toEqual({ status: 'error', response: { reason: 'unmatched_topic' } });
  });
});

describe('fan-out, leave, cancel', () => {
  it('delivers everything to every socket joined to the channel', async () => {
    fx = await startHub();
    const { channelId, topic, token, channel } = await openChannel(fx.hub);
    channel.publish('tokens', { delta: 'before ' });
    const a = await connect(token);
    const b = await connect(await fx.hub.issueToken(channelId));
    await a.join(topic);
    await b.join(topic);
    for (let i = 0; i < 100; i++) channel.publish('tokens', { delta: `${i} ` });
    channel.publish('response', { status: 'success', channel_id: channelId, meta: {} });
    await Promise.all([a, b].map((c) => c.waitFor((f) => f[3] === 'response')));
    const expected = `before ${Array.from({ length: 100 }, (_, i) => `${i} `).join('')}`;
    expect(applyStrict(a.events(topic)).text).toBe(expected);
    expect(applyStrict(b.events(topic)).text).toBe(expected);
  });

  it('stops delivering to a socket that left, and answers the leave ok', async () => {
    fx = await startHub();
    const { channelId, topic, token, channel } = await openChannel(fx.hub);
    const leaver = await connect(token);
    const stayer = await connect(await fx.hub.issueToken(channelId));
    const join = await leaver.join(topic);
    await stayer.join(topic);
    expect(replyOf(await leaver.push(topic, 'phx_leave', {}, join[0]))).toEqual({ status: 'ok', response: {} });
    channel.publish('tokens', { delta: 'x' });
    await stayer.waitFor((f) => f[3] === 'tokens');
    await leaver.heartbeat();
    expect(leaver.events(topic)).toEqual([]);
    expect(fx.hub.stats()).toMatchObject({ sockets: 2, joined: 1 });
  });

  it('answers cancel ok and calls onCancel once, however many cancels arrive', async () => {
    fx = await startHub();
    const onCancel = vi.fn();
    const { channelId, topic, token, channel } = await openChannel(fx.hub, () => {
      onCancel();
      channel.publish('response', { status: 'cancelled', channel_id: channelId, meta: {} });
      channel.finish();
    });
    const a = await connect(token);
    const b = await connect(await fx.hub.issueToken(channelId));
    await a.join(topic);
    await b.join(topic);
    expect(replyOf(await a.push(topic, 'cancel', {}))).toEqual({ status: 'ok', response: {} });
    expect(replyOf(await b.push(topic, 'cancel', {}))).toEqual({ status: 'ok', response: {} });
    expect(onCancel).toHaveBeenCalledTimes(1);
    const response = await b.waitFor((f) => f[3] === 'response');
    expect(response[4]).toMatchObject({ seq: 1, status: 'cancelled' });
  });

  it('reports an onCancel that throws to onError, and keeps serving', async () => {
    const onError = vi.fn();
    fx = await startHub({ onError });
    const { topic, token } = await openChannel(fx.hub, () => {
      throw new Error('boom');
    });
    const client = await connect(token);
    await client.join(topic);
    expect(replyOf(await client.push(topic, 'cancel', {})).status).toBe('ok');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'boom' }));
    expect(replyOf(await client.heartbeat()).status).toBe('ok');
  });

  it('answers an unknown event on a joined topic with unknown_event', async () => {
    fx = await startHub();
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    await client.join(topic);
    expect(replyOf(await client.push(topic, 'shout', {}))).toEqual({ status: 'error', response: { reason: 'unknown_event' } });
  });

  it('reports joins to onJoin with the seqs involved', async () => {
    const onJoin = vi.fn();
    fx = await startHub({ onJoin });
    const { channelId, topic, token, channel } = await openChannel(fx.hub);
    publishSample(channel);
    const client = await connect(token);
    await client.join(topic, { last_seq: 2 });
    expect(onJoin).toHaveBeenCalledWith({ channelId, topic, fromSeq: 2, lastSeq: 7 });
  });
});
