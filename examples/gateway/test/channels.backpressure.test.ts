/**
 * Backpressure: a client that stops reading (its TCP socket paused) must neither block publish()
 * nor other sockets, must get its backlog merged, and — if it stays over the hard cap — is closed
 * and then recovers everything by resuming with last_seq: zero lost, zero duplicated.
 *
 * Volumes are chosen to overflow the kernel's loopback buffers (a few MB), so that the hub's own
 * buffering is what is exercised.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChannelHandle } from '../src/channels/index.js';
import { applyStrict, openChannel, replyOf, startHub, TestClient, type HubFixture } from './channels.harness.js';

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

const TOKENS = 50_000;
/** ~100 characters, some of them multi-byte, different for every index. */
const tokenText = (i: number): string => `${i}:${'ŝlow-reader '.repeat(8)}${i % 7 === 0 ? '🙂' : ''}\n`;

/** Publishes tokens in batches, yielding to I/O between batches as a real generator would. */
async function publishTokens(channel: ChannelHandle, from: number, to: number): Promise<string> {
  let text = '';
  for (let i = from; i < to; i++) {
    const delta = tokenText(i);
    channel.publish('tokens', { delta });
    text += delta;
    if (i % 1_000 === 999) await tick();
  }
  return text;
}

describe('a client that stops reading', () => {
  it('gets its backlog merged once it reads again, while the other socket streams on', async () => {
    fx = await startHub({ highWaterMark: 16 * 1024 });
    const { channelId, topic, token, channel } = openChannel(fx.hub);
    const slow = await connect(token);
    const fast = await connect(fx.hub.issueToken(channelId));
    await slow.join(topic);
    await fast.join(topic);

    slow.tcp.pause();
    const text = await publishTokens(channel, 0, TOKENS);
    channel.publish('response', { status: 'success', channel_id: channelId, content: text, meta: {} });
    channel.finish();

    // publish() never waited for the slow socket, and the fast one has everything already.
    await fast.waitFor((f) => f[3] === 'response');
    expect(applyStrict(fast.events(topic)).text).toBe(text);
    expect(fx.hub.stats().lagging).toBe(1);

    slow.tcp.resume();
    const response = await slow.waitFor((f) => f[3] === 'response');
    const applied = applyStrict(slow.events(topic));
    expect(applied.text).toBe(text);
    expect(applied.lastSeq).toBe(TOKENS + 1);
    expect((response[4] as { content: string }).content).toBe(text);
    // The backlog came merged: fewer frames than events.
    expect(slow.events(topic).length).toBeLessThan(TOKENS);
    expect(fx.hub.stats().lagging).toBe(0);
  });

  it('is closed after staying over the hard cap, then resumes with last_seq and gets the exact rest', async () => {
    fx = await startHub({
      highWaterMark: 16 * 1024,
      hardCap: 256 * 1024,
      hardCapGraceMs: 50,
      sweepIntervalMs: 10,
    });
    const { channelId, topic, token, channel } = openChannel(fx.hub);
    const client = await connect(token);
    const resumeToken = replyOf(await client.join(topic)).response.resume_token as string;

    // Read normally for a while.
    let text = await publishTokens(channel, 0, 1_000);
    await client.waitFor((f) => (f[4] as { seq?: number }).seq === 1_000);

    // Stop reading; one huge event overflows the kernel buffers and sits over the hard cap,
    // and the stream goes on behind it.
    client.tcp.pause();
    const huge = `${'x'.repeat(16 * 1024 * 1024)}\n`;
    channel.publish('tokens', { delta: huge });
    text += huge;
    text += await publishTokens(channel, 1_001, TOKENS);
    channel.publish('response', { status: 'success', channel_id: channelId, content: 'done', meta: {} });
    channel.finish();

    await vi.waitFor(() => expect(fx!.hub.stats()).toMatchObject({ sockets: 0, slowClosed: 1 }), {
      timeout: 10_000,
      interval: 20,
    });
    client.tcp.resume();
    const { code } = await client.closed;
    // 4408 if the close frame got through; with the buffer discarded, usually an abnormal close.
    expect([4408, 1006]).toContain(code);

    const before = applyStrict(client.events(topic));
    expect(before.lastSeq).toBeLessThan(TOKENS + 1);
    const again = await connect(resumeToken);
    await again.join(topic, { last_seq: before.lastSeq });
    await again.waitFor((f) => f[3] === 'response');
    const after = applyStrict(again.events(topic), before.lastSeq);
    expect(before.text + after.text).toBe(text);
    expect(after.lastSeq).toBe(TOKENS + 1);
  });
});
