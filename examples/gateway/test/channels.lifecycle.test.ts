import { afterEach, describe, expect, it, vi } from 'vitest';
import { openChannel, replyOf, startHub, TestClient, upgradeStatus, type HubFixture } from './channels.harness.js';

let fx: HubFixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

describe('hub lifecycle', () => {
  it('counts sockets, joins, channels and tokens in stats()', async () => {
    fx = await startHub();
    const { topic, token } = await openChannel(fx.hub);
    await openChannel(fx.hub);
    expect(fx.hub.stats()).toMatchObject({ sockets: 0, channels: 2, joined: 0, tokens: 2 });
    const client = await TestClient.connect(fx.socketUrl, token);
    await client.join(topic);
    // One connect token used, one resume token issued.
    expect(fx.hub.stats()).toMatchObject({ sockets: 1, channels: 2, joined: 1, lagging: 0, tokens: 2 });
    client.close();
    await vi.waitFor(() => expect(fx!.hub.stats()).toMatchObject({ sockets: 0, joined: 0 }), { interval: 5 });
  });

  it('close() terminates every socket, forgets channels, and stops serving upgrades', async () => {
    fx = await startHub();
    const { topic, token, channelId } = await openChannel(fx.hub);
    const spare = await fx.hub.issueToken(channelId);
    const client = await TestClient.connect(fx.socketUrl, token);
    expect(replyOf(await client.join(topic)).status).toBe('ok');
    await fx.hub.close();
    expect((await client.closed).code).toBe(1006);
    expect(fx.hub.stats()).toMatchObject({ sockets: 0, channels: 0 });
    expect(fx.hub.get(channelId)).toBeUndefined();
    // Detached, the upgrade reaches the harness's plain request handler (404); a closed hub still
    // listening would answer 503 itself.
    expect(await upgradeStatus(`${fx.socketUrl}?token=${spare}&vsn=2.0.0`)).toBe(404);
    await fx.hub.close(); // idempotent
  });

  it('attaching the same server twice serves each upgrade once', async () => {
    fx = await startHub();
    fx.hub.attach(fx.server);
    const { topic, token } = await openChannel(fx.hub);
    const client = await TestClient.connect(fx.socketUrl, token);
    expect(replyOf(await client.join(topic)).status).toBe('ok');
    expect(fx.hub.stats().sockets).toBe(1);
    client.close();
  });
});
