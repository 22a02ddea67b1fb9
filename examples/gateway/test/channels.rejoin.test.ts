/**
 * Rejoin flood: every join mints a resume token, so joins must not be able to pile tokens up.
 * A join revokes the socket's previous resume token, a channel holds a bounded number of live
 * tokens, and joins per socket are rate-limited (clock injected: no test waits on real time).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelHubError, JOIN_RATE_LIMITED } from '../src/channels/index.js';
import { openChannel, replyOf, startHub, TestClient, upgradeStatus, type HubFixture } from './channels.harness.js';

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

const resumeTokenOf = async (client: TestClient, topic: string): Promise<string> => {
  const reply = replyOf(await client.join(topic));
  expect(reply.status).toBe('ok');
  return reply.response.resume_token as string;
};

describe('a rejoin on the same socket', () => {
  it('revokes the resume token of the previous join', async () => {
    fx = await startHub();
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    const first = await resumeTokenOf(client, topic);
    const second = await resumeTokenOf(client, topic);
    const third = await resumeTokenOf(client, topic);
    expect(new Set([first, second, third]).size).toBe(3);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${first}&vsn=2.0.0`)).toBe(403);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${second}&vsn=2.0.0`)).toBe(403);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${third}&vsn=2.0.0`)).toBe(101);
  });

  it('keeps one live resume token per socket however often it rejoins', async () => {
    fx = await startHub({ joinBurst: 1_000 });
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    const before = fx.hub.stats().tokens;
    let last = '';
    for (let i = 0; i < 500; i++) last = await resumeTokenOf(client, topic);
    expect(fx.hub.stats().tokens).toBe((before ?? 0) + 1);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${last}&vsn=2.0.0`)).toBe(101);
  });

  it('does not revoke the token of another socket, nor on a refused join', async () => {
    fx = await startHub();
    const { channelId, topic, token } = await openChannel(fx.hub);
    const a = await connect(token);
    const b = await connect(await fx.hub.issueToken(channelId));
    const ofA = await resumeTokenOf(a, topic);
    await resumeTokenOf(b, topic);
    expect(replyOf(await a.join('room:lobby'))).toEqual({ status: 'error', response: { reason: 'invalid_channel_format' } });
    expect(await upgradeStatus(`${fx.socketUrl}?token=${ofA}&vsn=2.0.0`)).toBe(101);
  });
});

describe('tokens per channel', () => {
  it('are capped by maxTokensPerChannel: issuing past the cap revokes the oldest', async () => {
    fx = await startHub({ maxTokensPerChannel: 3 });
    const { channelId, token: oldest } = await openChannel(fx.hub);
    const other = await openChannel(fx.hub);
    const issued = [oldest, await fx.hub.issueToken(channelId), await fx.hub.issueToken(channelId), await fx.hub.issueToken(channelId)];
    // This channel holds its cap of 3; the other channel's token is not touched.
    expect(fx.hub.stats().tokens).toBe(3 + 1);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${issued[0]}&vsn=2.0.0`)).toBe(403);
    for (const token of issued.slice(1)) expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=2.0.0`)).toBe(101);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${other.token}&vsn=2.0.0`)).toBe(101);
  });

  it('count resume tokens too, so many sockets joining one channel stay under the cap', async () => {
    fx = await startHub({ maxTokensPerChannel: 2 });
    const { channelId, topic, token } = await openChannel(fx.hub);
    const resumeTokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      // Each socket uses up its connect token and gets a resume token for it.
      const client = await connect(i === 0 ? token : await fx.hub.issueToken(channelId));
      resumeTokens.push(await resumeTokenOf(client, topic));
    }
    expect(fx.hub.stats().tokens).toBe(2);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${resumeTokens[0]}&vsn=2.0.0`)).toBe(403);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${resumeTokens[2]}&vsn=2.0.0`)).toBe(101);
  });

  it('refuses a cap below 1', async () => {
    for (const maxTokensPerChannel of [0, 1.5]) {
      await expect(startHub({ maxTokensPerChannel })).rejects.toBeInstanceOf(ChannelHubError);
      await expect(startHub({ maxTokensPerChannel })).rejects.toMatchObject({ code: 'invalid_option' });
    }
  });
});

describe('joins per socket', () => {
  it('are rate-limited: past the burst a join is refused with rate_limited, and the socket stays open', async () => {
    let now = 1_000_000;
    fx = await startHub({ now: () => now, joinBurst: 3, joinsPerSecond: 2 });
    const { topic, token, channel } = await openChannel(fx.hub);
    const client = await connect(token);
    await resumeTokenOf(client, topic);
    await resumeTokenOf(client, topic);
    const kept = await resumeTokenOf(client, topic);

    const refused = await client.join(topic);
    expect(replyOf(refused)).toEqual({ status: 'error', response: { reason: JOIN_RATE_LIMITED } });
    expect(JOIN_RATE_LIMITED).toBe('rate_limited');
    expect(fx.hub.stats()).toMatchObject({ sockets: 1, joined: 1, rateLimitedJoins: 1 });
    // The refused join changed nothing: the subscription and its resume token stand.
    channel.publish('tokens', { delta: 'still here' });
    await client.waitFor((f) => f[3] === 'tokens');
    expect(replyOf(await client.heartbeat()).status).toBe('ok');
    expect(await upgradeStatus(`${fx.socketUrl}?token=${kept}&vsn=2.0.0`)).toBe(101);

    // 2 joins a second: 499 ms is not enough for one more, 500 ms is.
    now += 499;
    expect(replyOf(await client.join(topic)).response.reason).toBe(JOIN_RATE_LIMITED);
    now += 1;
    expect(replyOf(await client.join(topic)).status).toBe('ok');
    expect(fx.hub.stats().rateLimitedJoins).toBe(2);
  });

  it('count refused joins (bad topics) too, and each socket has its own allowance', async () => {
    const now = 1_000_000;
    fx = await startHub({ now: () => now, joinBurst: 2 });
    const { channelId, topic, token } = await openChannel(fx.hub);
    const a = await connect(token);
    const b = await connect(await fx.hub.issueToken(channelId));
    await a.join('room:lobby');
    await a.join('room:lobby');
    expect(replyOf(await a.join(topic)).response.reason).toBe(JOIN_RATE_LIMITED);
    expect(replyOf(await b.join(topic)).status).toBe('ok');
  });

  it('refuses non-positive or non-integer settings', async () => {
    for (const options of [{ joinBurst: 0 }, { joinBurst: 2.5 }, { joinsPerSecond: 0 }, { joinsPerSecond: Number.NaN }]) {
      await expect(startHub(options)).rejects.toMatchObject({ code: 'invalid_option' });
    }
  });
});
