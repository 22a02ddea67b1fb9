/**
 * Time-driven behaviour: retention of finished channels and the idle-socket timeout. The shared
 * sweep runs on a faked setInterval and reads a faked Date; sockets and I/O stay real.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyStrict, openChannel, replyOf, startHub, TestClient, type HubFixture } from './channels.harness.js';

let fx: HubFixture | undefined;
let clients: TestClient[] = [];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
});

afterEach(async () => {
  for (const client of clients) client.close();
  clients = [];
  await fx?.close();
  fx = undefined;
  vi.useRealTimers();
});

async function connect(token: string): Promise<TestClient> {
  const client = await TestClient.connect(fx!.socketUrl, token);
  clients.push(client);
  return client;
}

describe('retention of finished channels', () => {
  it('keeps the log for late joiners until retentionMs after finish, then drops it', async () => {
    fx = await startHub({ retentionMs: 10 * 60_000, sweepIntervalMs: 1_000 });
    const { channelId, topic, channel } = await openChannel(fx.hub);
    channel.publish('tokens', { delta: 'kept ' });
    channel.publish('response', { status: 'success', channel_id: channelId, content: 'kept ', meta: {} });
    channel.finish();
    channel.finish(); // idempotent: does not restart the clock

    vi.advanceTimersByTime(10 * 60_000 - 1_000);
    expect(fx.hub.get(channelId)).toBe(channel);
    const late = await connect(await fx.hub.issueToken(channelId));
    const tokenBeforeExpiry = await fx.hub.issueToken(channelId);
    expect(replyOf(await late.join(topic)).response.last_seq).toBe(2);
    await late.waitFor((f) => f[3] === 'response');
    expect(applyStrict(late.events(topic)).text).toBe('kept ');

    vi.advanceTimersByTime(1_000);
    expect(fx.hub.stats().channels).toBe(0);
    expect(fx.hub.get(channelId)).toBeUndefined();
    await expect(fx!.hub.issueToken(channelId)).rejects.toThrow(expect.objectContaining({ code: 'channel_not_found' }));
    // A token issued before the drop still connects, but the join finds nothing.
    const tooLate = await connect(tokenBeforeExpiry);
    expect(replyOf(await tooLate.join(topic))).toEqual({ status: 'error', response: { reason: 'not_found' } });
  });

  it('drops an expired channel on lookup even before the sweep runs (injected clock)', async () => {
    let now = 0;
    fx = await startHub({ now: () => now, retentionMs: 1_000, sweepIntervalMs: 60_000 });
    const { channelId, channel } = await openChannel(fx.hub);
    channel.finish();
    now = 999;
    expect(fx.hub.get(channelId)).toBeDefined();
    now = 1_000;
    expect(fx.hub.get(channelId)).toBeUndefined();
    expect(fx.hub.stats().channels).toBe(0);
  });

  it('keeps an unfinished channel indefinitely', async () => {
    fx = await startHub({ retentionMs: 1_000 });
    const { channelId } = await openChannel(fx.hub);
    vi.advanceTimersByTime(60 * 60_000);
    expect(fx.hub.get(channelId)).toBeDefined();
  });

  it('refuses publishing after finish with channel_finished, without using a seq', async () => {
    fx = await startHub();
    const { channel } = await openChannel(fx.hub);
    channel.publish('tokens', { delta: 'a' });
    channel.finish();
    expect(() => channel.publish('tokens', { delta: 'b' })).toThrow(
      expect.objectContaining({ name: 'ChannelHubError', code: 'channel_finished' }),
    );
    expect(channel.lastSeq).toBe(1);
  });
});

describe('idle sockets', () => {
  it('closes a socket that sends nothing for 60 s', async () => {
    fx = await startHub({ sweepIntervalMs: 1_000 });
    const client = await connect((await openChannel(fx.hub)).token);
    vi.advanceTimersByTime(59_000);
    expect(fx.hub.stats().sockets).toBe(1);
    vi.advanceTimersByTime(1_000);
    await client.closed;
    expect(fx.hub.stats().sockets).toBe(0);
  });

  it('keeps a socket that heartbeats every 30 s', async () => {
    fx = await startHub({ sweepIntervalMs: 1_000 });
    const { topic, token, channel } = await openChannel(fx.hub);
    const client = await connect(token);
    await client.join(topic);
    for (let i = 0; i < 6; i++) {
      vi.advanceTimersByTime(30_000);
      expect(replyOf(await client.heartbeat()).status).toBe('ok');
    }
    channel.publish('tokens', { delta: 'still here' });
    expect((await client.waitFor((f) => f[3] === 'tokens'))[4]).toEqual({ seq: 1, delta: 'still here' });
    expect(fx.hub.stats().sockets).toBe(1);
  });
});
