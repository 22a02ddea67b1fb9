/**
 * Backpressure: a client that stops reading (its TCP socket paused) must neither block publish()
 * nor other sockets, must get its backlog merged, and — if it stays over the hard cap — is closed
 * and then recovers everything by resuming with last_seq: zero lost, zero duplicated.
 *
 * Volumes are chosen to overflow the kernel's loopback buffers (a few MB), so that the hub's own
 * buffering is what is exercised. Where the hard cap is involved, the test runs the hub's sweep by
 * hand and injects its clock: whether a socket is closed never depends on how busy the machine is.
 */
import { setImmediate as tick } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChannelHandle } from '../src/channels/index.js';
import {
  applyStrict,
  manualSweep,
  openChannel,
  replyOf,
  startHub,
  TestClient,
  type HubFixture,
} from './channels.harness.js';

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
/**
 * These tests move tens of MB through loopback: no timer decides their outcome, but on a busy
 * 2-core machine they can take several times the default 20 s budget to get there.
 */
const HEAVY_TIMEOUT_MS = 120_000;
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
  it('gets its backlog merged once it reads again, while the other socket streams on', { timeout: HEAVY_TIMEOUT_MS }, async () => {
    fx = await startHub({ highWaterMark: 16 * 1024 });
    const { channelId, topic, token, channel } = await openChannel(fx.hub);
    const slow = await connect(token);
    const fast = await connect(await fx.hub.issueToken(channelId));
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

  it('is closed after staying over the hard cap, then resumes with last_seq and gets the exact rest', { timeout: HEAVY_TIMEOUT_MS }, async () => {
    let now = 1_000_000;
    const manual = manualSweep();
    fx = await startHub({
      highWaterMark: 16 * 1024,
      hardCap: 256 * 1024,
      hardCapGraceMs: 50,
      timers: manual.timers,
      now: () => now,
    });
    const { channelId, topic, token, channel } = await openChannel(fx.hub);
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

    // The huge frame may exceed the cap, but must drain within one grace period per cap's worth
    // of bytes (65 × 50 ms here); this client reads nothing, so it is closed once that is over.
    manual.sweep();
    now += 10_000;
    manual.sweep();
    expect(fx.hub.stats().slowClosed).toBe(1);
    // The close frame cannot get through either: one grace period later the socket is cut.
    now += 50;
    manual.sweep();
    await vi.waitFor(() => expect(fx!.hub.stats()).toMatchObject({ sockets: 0, slowClosed: 1 }), {
      timeout: 30_000,
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

describe('an event larger than the hard cap', () => {
  const HARD_CAP = 256 * 1024;
  const GRACE_MS = 50;
  const huge = `${'y'.repeat(16 * 1024 * 1024)}\n`;

  async function startManual(retentionMs?: number): Promise<{ sweep: () => void; advance: (ms: number) => void }> {
    let now = 1_000_000;
    const manual = manualSweep();
    fx = await startHub({
      highWaterMark: 16 * 1024,
      hardCap: HARD_CAP,
      hardCapGraceMs: GRACE_MS,
      timers: manual.timers,
      now: () => now,
      ...(retentionMs === undefined ? {} : { retentionMs }),
    });
    return { sweep: manual.sweep, advance: (ms) => (now += ms) };
  }

  it('is replayed to a resuming client that drains it slowly, without closing it (no endless reconnects)', { timeout: HEAVY_TIMEOUT_MS }, async () => {
    const { sweep, advance } = await startManual();
    const { channelId, topic, token, channel } = await openChannel(fx!.hub);
    channel.publish('tokens', { delta: 'a' });
    channel.publish('tokens', { delta: huge });
    channel.publish('response', { status: 'success', channel_id: channelId, content: `a${huge}`, meta: {} });
    channel.finish();

    // The client reads the join reply, then stops reading while the replay is in flight.
    const client = await connect(token);
    client.ws.once('message', () => client.tcp.pause());
    expect(replyOf(await client.join(topic)).status).toBe('ok');

    // Far longer than the grace period over the cap: the old rule closed the socket here, and the
    // client's resume would have replayed the same event into the same close, forever.
    sweep();
    for (let i = 0; i < 10; i++) {
      advance(GRACE_MS);
      sweep();
    }
    expect(fx!.hub.stats()).toMatchObject({ sockets: 1, slowClosed: 0 });

    client.tcp.resume();
    await client.waitFor((f) => f[3] === 'response');
    expect(applyStrict(client.events(topic)).text).toBe(`a${huge}`);
    expect(fx!.hub.stats()).toMatchObject({ sockets: 1, slowClosed: 0 });
  });

  it('still holds what queues behind it to the cap', async () => {
    // Retention 0: the first sweep drops the finished channel's log, and whatever the socket still
    // lacks is then written past the high-water mark, behind the huge frame.
    const { sweep, advance } = await startManual(0);
    const { channelId, topic, token, channel } = await openChannel(fx!.hub);
    const client = await connect(token);
    await client.join(topic);
    client.tcp.pause();
    channel.publish('tokens', { delta: huge });
    // ~600 KB of tokens wait in the log behind the huge frame: more than the cap.
    for (let i = 0; i < 6_000; i++) channel.publish('tokens', { delta: tokenText(i) });
    channel.publish('response', { status: 'success', channel_id: channelId, content: 'done', meta: {} });
    channel.finish();

    sweep();
    advance(GRACE_MS);
    sweep();
    expect(fx!.hub.stats().slowClosed).toBe(0);
    advance(GRACE_MS);
    sweep();
    // Well within the huge frame's own drain budget, but what queues behind it is over the cap.
    expect(fx!.hub.stats().slowClosed).toBe(1);
  });
});
