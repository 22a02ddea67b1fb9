import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelHubError } from '../src/channels/index.js';
import { openChannel, replyOf, startHub, TestClient, upgradeStatus, type HubFixture } from './channels.harness.js';

let fx: HubFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('connect tokens at the upgrade', () => {
  it('accepts a ws_token once, then refuses it with 403', async () => {
    fx = await startHub();
    const { token } = await openChannel(fx.hub);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=2.0.0`)).toBe(101);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=2.0.0`)).toBe(403);
  });

  it('refuses a missing, empty or unknown token with 403', async () => {
    fx = await startHub();
    await openChannel(fx.hub);
    expect(await upgradeStatus(`${fx.socketUrl}?vsn=2.0.0`)).toBe(403);
    expect(await upgradeStatus(`${fx.socketUrl}?token=&vsn=2.0.0`)).toBe(403);
    expect(await upgradeStatus(`${fx.socketUrl}?token=not-a-token&vsn=2.0.0`)).toBe(403);
  });

  it('refuses an expired token (tokenTtlMs, clock injected)', async () => {
    let now = 1_000_000;
    fx = await startHub({ now: () => now, tokenTtlMs: 5 * 60_000 });
    const { token } = await openChannel(fx.hub);
    const { token: fresh } = await openChannel(fx.hub);
    now += 5 * 60_000;
    expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=2.0.0`)).toBe(403);
    now -= 1;
    expect(await upgradeStatus(`${fx.socketUrl}?token=${fresh}&vsn=2.0.0`)).toBe(101);
  });

  it('answers 404 on other paths without using the token', async () => {
    fx = await startHub();
    const { token } = await openChannel(fx.hub);
    const base = `ws://127.0.0.1:${fx.port}`;
    expect(await upgradeStatus(`${base}/socket?token=${token}&vsn=2.0.0`)).toBe(404);
    expect(await upgradeStatus(`${base}/other/websocket?token=${token}&vsn=2.0.0`)).toBe(404);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=2.0.0`)).toBe(101);
  });

  it('refuses another protocol version with 400 without using the token', async () => {
    fx = await startHub();
    const { token } = await openChannel(fx.hub);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=1.0.0`)).toBe(400);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${token}&vsn=2.0.0`)).toBe(101);
  });

  it('issues distinct opaque base64url tokens, and refuses to issue for an unknown channel', async () => {
    fx = await startHub();
    const { channelId } = await openChannel(fx.hub);
    const tokens = new Set(await Promise.all(Array.from({ length: 100 }, () => fx!.hub.issueToken(channelId))));
    expect(tokens.size).toBe(100);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    await expect(fx!.hub.issueToken(randomUUID())).rejects.toThrow(
      expect.objectContaining({ name: 'ChannelHubError', code: 'channel_not_found' }),
    );
  });

  it('binds a token to its topic: joining another channel is unauthorized', async () => {
    fx = await startHub();
    const a = await openChannel(fx.hub);
    const b = await openChannel(fx.hub);
    const client = await TestClient.connect(fx.socketUrl, a.token);
    expect(replyOf(await client.join(b.topic))).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
    expect(replyOf(await client.join(a.topic)).status).toBe('ok');
    client.close();
  });
});

describe('resume tokens', () => {
  it('are issued on every join and work exactly once, for the same topic', async () => {
    fx = await startHub();
    const { topic, token, channel } = await openChannel(fx.hub);
    channel.publish('tokens', { delta: 'a' });
    const first = await TestClient.connect(fx.socketUrl, token);
    const reply = replyOf(await first.join(topic));
    expect(reply.status).toBe('ok');
    const resumeToken = reply.response.resume_token as string;
    expect(resumeToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
    first.close();

    const second = await TestClient.connect(fx.socketUrl, resumeToken);
    const again = replyOf(await second.join(topic, { last_seq: 1 }));
    expect(again).toEqual({ status: 'ok', response: { last_seq: 1, resume_token: expect.any(String) } });
    expect(again.response.resume_token).not.toBe(resumeToken);
    expect(await upgradeStatus(`${fx.socketUrl}?token=${resumeToken}&vsn=2.0.0`)).toBe(403);
    second.close();
  });

  it('expire after resumeTokenTtlMs', async () => {
    let now = 5_000;
    fx = await startHub({ now: () => now, resumeTokenTtlMs: 10 * 60_000 });
    const { topic, token } = await openChannel(fx.hub);
    const client = await TestClient.connect(fx.socketUrl, token);
    const resumeToken = replyOf(await client.join(topic)).response.resume_token as string;
    client.close();
    now += 10 * 60_000;
    expect(await upgradeStatus(`${fx.socketUrl}?token=${resumeToken}&vsn=2.0.0`)).toBe(403);
  });
});

describe('errors', () => {
  it('are ChannelHubError instances with a stable code', () => {
    const error = new ChannelHubError('channel_not_found', 'x');
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('channel_not_found');
  });
});
