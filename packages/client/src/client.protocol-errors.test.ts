import { describe, expect, it } from 'vitest';
import type { ProtocolErrorInfo } from './index.js';
import { createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

describe('protocol errors', () => {
  it('reports malformed and invalid frames, drops them, and the stream still completes exactly', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ maxFrameBytes: 300 });
    const errors: ProtocolErrorInfo[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    const joinRef = gw.received.find((f) => f.frame?.[3] === 'phx_join')?.frame?.[0] ?? null;

    ch.tokens('Hello');
    conn.inject('this is not json');
    conn.inject('[1,2,3]');
    conn.inject('{"event":"tokens"}');
    conn.inject([joinRef, null, ch.topic, 'tokens', { seq: 2, delta: 42 }]);
    conn.inject([joinRef, null, ch.topic, 'tokens', { delta: 'no seq' }]);
    conn.inject([joinRef, null, ch.topic, 'mystery', { seq: 2 }]);
    conn.inject([joinRef, null, ch.topic, 'tokens', { seq: 2, delta: 'x'.repeat(400) }]);
    ch.tokens(', ');
    ch.tokens('world');
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);

    expect(state.text).toBe('Hello, world');
    expect(state.metrics.tokenCount).toBe(3);
    expect(errors.map((e) => e.code)).toEqual([
      'malformed_frame',
      'malformed_frame',
      'malformed_frame',
      'invalid_payload',
      'invalid_payload',
      'unknown_event',
      'frame_too_large',
    ]);
    expect(errors[0]?.frame).toBe('this is not json');
    expect(errors[3]?.message).toMatch(/delta/);
    expect(errors.every((e) => e.frame.length <= 512)).toBe(true);
    // The link survived all of it.
    expect(gw.upgrades).toHaveLength(1);
  });

  it('ignores frames for other topics and for stale joins without reporting them', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const errors: ProtocolErrorInfo[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    conn.inject(['1', null, 'ai_response:someone:else', 'tokens', { seq: 1, delta: 'nope' }]);
    conn.inject(['stale-join', null, ch.topic, 'tokens', { seq: 1, delta: 'nope' }]);
    ch.tokens('yes');
    await waitForState(client, (s) => s.lastSeq === 1);
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('yes');
    expect(errors).toEqual([]);
  });

  it('a server that keeps skipping events is given up on with protocol_error, not rejoined forever', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    // Every join is answered, then a frame from the future: a gap that a rejoin never fills.
    ch.onJoin = (connection, info) => {
      connection.inject([info.joinRef, null, ch.topic, 'tokens', { seq: 50, delta: 'future' }]);
    };
    const failed = nextEvent(client, 'error');
    conn.inject([null, null, ch.topic, 'tokens', { seq: 50, delta: 'future' }]);
    const [error] = await failed;
    expect(error.code).toBe('protocol_error');
    const joins = gw.received.filter((f) => f.frame?.[3] === 'phx_join').length;
    expect(joins).toBeGreaterThan(5);
    expect(joins).toBeLessThan(20);
    expect(client.getState().text).toBe('');
  });
});

describe('a join reply behind the client', () => {
  it('an ok join whose last_seq is below what the client applied is reported as invalid_payload', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const errors: ProtocolErrorInfo[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    // An event the server never logged: the client applies seq 1, the server still says last_seq 0.
    conn.inject([null, null, ch.topic, 'tokens', { seq: 1, delta: 'ghost' }]);
    await waitForState(client, (s) => s.lastSeq === 1);
    const reported = nextEvent(client, 'protocol_error');
    const rejoinedInfo = nextEvent(client, 'channel_joined');
    const rejoined = ch.waitForJoin();
    conn.drop();
    await rejoined;
    const [info] = await reported;
    expect(info).toMatchObject({ code: 'invalid_payload', message: 'server last_seq 0 < applied 1' });
    expect((await rejoinedInfo)[0]).toMatchObject({ serverLastSeq: 0, resumed: true });
    expect(errors).toHaveLength(1);
    expect(client.getState()).toMatchObject({ text: 'ghost', lastSeq: 1 });
  });
});

describe('an invalid event that holds a seq', () => {
  const joins = (gw: { received: Array<{ frame?: unknown[] | null }> }): number =>
    gw.received.filter((f) => f.frame?.[3] === 'phx_join').length;

  it('is reported once and skipped when the next event comes, not rejoined for until the client gives up', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const errors: ProtocolErrorInfo[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('Hello');
    // In the server's own log at seq 2: a rejoin would get exactly these bytes again.
    ch.emit('tokens', { delta: 42 as unknown as string });
    ch.tokens(', ');
    ch.tokens('world');
    const state = await waitForState(client, (s) => s.lastSeq === 4);
    expect(state.text).toBe('Hello, world');
    expect(state.metrics.tokenCount).toBe(3);
    ch.respond({ status: 'success', content: 'Hello, world' });
    expect((await waitForEnd(client)).status).toBe('success');
    expect(errors.map((e) => [e.code, e.message])).toEqual([['invalid_payload', 'tokens.delta must be a string']]);
    expect(joins(gw)).toBe(1);
  });

  it('is skipped after a replay too (the link dropped right after it)', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const errors: ProtocolErrorInfo[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('a');
    ch.emit('tokens', { delta: 42 as unknown as string });
    await nextEvent(client, 'protocol_error');
    const rejoined = ch.waitForJoin();
    conn.drop();
    await rejoined;
    ch.tokens('b');
    ch.respond({ status: 'success', content: 'ab' });
    const state = await waitForEnd(client);
    expect(state).toMatchObject({ status: 'success', lastSeq: 4 });
    expect(state.metrics.tokenCount).toBe(2);
    // Once when it came, once more in the replay after the drop (the client was still before it).
    expect(errors.map((e) => e.code)).toEqual(['invalid_payload', 'invalid_payload']);
    expect(joins(gw)).toBe(2);
  });

  it('injected between valid events (outside the server log): completes, reported once, cannot shadow the real event', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const errors: ProtocolErrorInfo[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    const joinRef = gw.received.find((f) => f.frame?.[3] === 'phx_join')?.frame?.[0] ?? null;
    ch.tokens('one ');
    // Claims the next seq; the server's real seq-2 event follows and must not be shadowed by it.
    conn.inject([joinRef, null, ch.topic, 'tokens', { seq: 2, delta: 42 }]);
    ch.tokens('two ');
    ch.tokens('three');
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('one two three');
    expect(errors).toHaveLength(1);
    expect(joins(gw)).toBe(1);
  });
});
