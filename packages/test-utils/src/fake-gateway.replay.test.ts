import { afterEach, describe, expect, it } from 'vitest';
import { FakeGateway } from './fake-gateway.js';
import { RawClient } from './raw-client.js';

let gw: FakeGateway;
let client: RawClient | null = null;

afterEach(async () => {
  client?.close();
  client = null;
  await gw.close();
});

async function joined(gateway: FakeGateway, token: string, topic: string, lastSeq?: number): Promise<RawClient> {
  client = await RawClient.connect(gateway.socketUrl(token));
  await client.join(topic, lastSeq);
  return client;
}

describe('FakeGateway replay and live delivery', () => {
  it('replays events after last_seq, merging consecutive tokens, then sends live events', async () => {
    gw = await FakeGateway.start();
    const ch = gw.createChannel();
    ch.status('processing');
    ch.tokens('a');
    ch.tokens('b');
    ch.tokens('c');
    ch.status('failover', { provider: 'p2' });
    ch.tokens('d');
    const c = await joined(gw, ch.wsToken, ch.topic, 2);
    ch.tokens('e');
    ch.tokens('f');
    await c.waitFor((f) => f[3] === 'tokens' && (f[4] as { seq: number }).seq === 8);
    expect(c.events()).toEqual([
      ['tokens', { seq: 4, first_seq: 3, delta: 'bc' }],
      ['status', { seq: 5, status: 'failover', provider: 'p2' }],
      ['tokens', { seq: 6, delta: 'd' }],
      ['tokens', { seq: 7, delta: 'e' }],
      ['tokens', { seq: 8, delta: 'f' }],
    ]);
    // Server events carry the socket's join_ref and a null ref.
    const joinRef = c.frames[0]?.[0];
    expect(c.frames.slice(1).every((f) => f[0] === joinRef && f[1] === null && f[2] === ch.topic)).toBe(true);
  });

  it('replays one frame per event when mergeReplayTokens is false', async () => {
    gw = await FakeGateway.start({ mergeReplayTokens: false });
    const ch = gw.createChannel();
    ch.tokens('a');
    ch.tokens('b');
    const c = await joined(gw, ch.wsToken, ch.topic);
    await c.waitFor((f) => (f[4] as { seq?: number }).seq === 2);
    expect(c.events()).toEqual([
      ['tokens', { seq: 1, delta: 'a' }],
      ['tokens', { seq: 2, delta: 'b' }],
    ]);
  });

  it('queues live events while paused and flushes them merged on resume', async () => {
    gw = await FakeGateway.start();
    const ch = gw.createChannel();
    const c = await joined(gw, ch.wsToken, ch.topic);
    ch.tokens('a');
    await c.nextEvent('tokens');
    ch.pause();
    ch.tokens('b');
    ch.tokens('c');
    ch.respond({ status: 'success' });
    await c.push('phoenix', 'heartbeat', {});
    expect(c.events()).toHaveLength(1);
    ch.resume({ merge: true });
    await c.nextEvent('response');
    expect(c.events()).toEqual([
      ['tokens', { seq: 1, delta: 'a' }],
      ['tokens', { seq: 3, first_seq: 2, delta: 'bc' }],
      ['response', { seq: 4, status: 'success', channel_id: ch.channelId, meta: {}, content: 'abc' }],
    ]);
  });

  it('does not repeat to a socket that joined during a pause what its replay already sent', async () => {
    gw = await FakeGateway.start({ mergeReplayTokens: false });
    const ch = gw.createChannel();
    ch.pause();
    ch.tokens('a');
    const c = await joined(gw, ch.wsToken, ch.topic);
    ch.tokens('b');
    ch.resume();
    await c.waitFor((f) => (f[4] as { seq?: number }).seq === 2);
    await c.push('phoenix', 'heartbeat', {});
    expect(c.events().map(([, p]) => (p as { seq: number }).seq)).toEqual([1, 2]);
  });

  it('sends nothing to replay when last_seq is at or beyond the server\'s', async () => {
    gw = await FakeGateway.start();
    const ch = gw.createChannel();
    ch.tokens('a');
    const c = await joined(gw, ch.wsToken, ch.topic, 5);
    await c.push('phoenix', 'heartbeat', {});
    expect(c.events()).toEqual([]);
  });

  it('delivers a synchronous burst complete and in order with coalesceSends', async () => {
    gw = await FakeGateway.start({ coalesceSends: true, recordSent: false });
    const ch = gw.createChannel();
    const c = await joined(gw, ch.wsToken, ch.topic);
    for (let i = 0; i < 1_000; i += 1) ch.tokens(String(i));
    ch.respond({ status: 'success' });
    await c.nextEvent('response');
    const seqs = c.events().map(([, p]) => (p as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: 1_001 }, (_, i) => i + 1));
    expect(gw.connections[0]?.sent).toEqual([]);
  });
});
