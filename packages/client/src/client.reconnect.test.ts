import { describe, expect, it } from 'vitest';
import type { ConnectingInfo } from './index.js';
import { ModelRiverError } from './index.js';
import { RecordingTimers, createClient, manualLifecycle, nextEvent, startGateway, startJoined, waitForEnd, waitForState } from '../test/harness.js';

describe('reconnection', () => {
  it('reconnects after an unclean drop with the resume token and resumes from last_seq', async () => {
    const { gw, ch, client, conn } = await startJoined();
    ch.tokens('one ');
    ch.tokens('two ');
    await waitForState(client, (s) => s.lastSeq === 2);
    const rejoined = ch.waitForJoin();
    const since = gw.received.length;
    conn.drop();
    await rejoined;
    const join = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join', { since });
    expect(join.frame?.[4]).toEqual({ last_seq: 2 });
    expect(gw.upgrades.map((u) => u.token)).toEqual([ch.wsToken, ch.resumeTokens[0]]);
    expect(gw.upgrades.every((u) => u.accepted)).toBe(true);
    ch.tokens('three');
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('one two three');
  });

  it('follows backoffDelay with the injected random and gives up with connection_failed after maxAttempts', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const options = gw.connectOptions(ch);
    await gw.close(); // nothing listens any more: every attempt fails before opening
    const timers = new RecordingTimers();
    const client = createClient({
      timers,
      random: () => 0.5,
      reconnect: { initialDelayMs: 8, maxDelayMs: 100, factor: 2, maxAttempts: 6 },
    });
    const attempts: ConnectingInfo[] = [];
    client.on('connecting', (i) => attempts.push(i));
    const failed = nextEvent(client, 'error');
    client.connect(options);
    const [error] = await failed;
    expect(error).toBeInstanceOf(ModelRiverError);
    expect(error.code).toBe('connection_failed');
    expect(timers.delays).toEqual([4, 8, 16, 32, 50, 50]);
    expect(attempts.map((a) => a.attempt)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Without another token source, the unspent ws_token is retried (it was never accepted).
    expect(attempts.every((a) => a.via === 'ws_token')).toBe(true);
    expect(client.getState()).toMatchObject({ connectionState: 'error', status: 'error', errorCode: 'connection_failed' });
    expect(timers.pending).toBe(0);
  });

  it('resets the attempt count only after the link stayed up minUptimeMs', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    let clock = 1_000_000;
    const client = createClient({ now: () => clock, reconnect: { initialDelayMs: 2, maxDelayMs: 5, minUptimeMs: 1_000 } });
    const attempts: number[] = [];
    client.on('connecting', (i) => attempts.push(i.attempt));
    let joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    let conn = await joined;
    for (let i = 0; i < 2; i++) {
      joined = ch.waitForJoin();
      conn.drop(); // up for 0 ms: the count keeps growing
      conn = await joined;
    }
    clock += 1_000; // this link stays up long enough
    joined = ch.waitForJoin();
    conn.drop();
    await joined;
    expect(attempts).toEqual([0, 1, 2, 1]);
  });

  it('retries at once when the lifecycle wakes after an unclean close', async () => {
    const lifecycle = manualLifecycle();
    // A retry delay of about a minute: only the wake can bring the link back within the test.
    const { gw, ch, client, conn } = await startJoined({
      lifecycle: lifecycle.source,
      random: () => 0.99,
      reconnect: { initialDelayMs: 60_000, maxDelayMs: 60_000 },
    });
    expect(lifecycle.subscribed()).toBe(true);
    const disconnected = nextEvent(client, 'disconnected');
    conn.drop();
    const [reason, transition] = await disconnected;
    expect(reason).toBe('lost');
    expect(transition).toEqual({ previous: 'connected', current: 'reconnecting', reason: 'lost' });
    const rejoined = ch.waitForJoin();
    lifecycle.wake('online');
    await rejoined;
    expect(client.getState().connectionState).toBe('connected');
    // A wake while connected does nothing.
    const upgrades = gw.upgrades.length;
    lifecycle.wake('visible');
    ch.respond({ status: 'success' });
    await waitForEnd(client);
    expect(gw.upgrades.length).toBe(upgrades);
  });

  it('does not retry after disconnect()', async () => {
    const timers = new RecordingTimers();
    const { gw, client, conn } = await startJoined({ timers });
    const disconnected = nextEvent(client, 'disconnected');
    client.disconnect();
    expect((await disconnected)[0]).toBe('manual');
    expect((await conn.waitForClose()).code).toBe(1000);
    expect(timers.pending).toBe(0);
    expect(client.getState()).toMatchObject({ connectionState: 'disconnected', hasPendingRequest: false });
    expect(gw.upgrades).toHaveLength(1);
  });

  it('does not retry after a terminal response', async () => {
    const timers = new RecordingTimers();
    const { gw, ch, client, conn } = await startJoined({ timers });
    ch.respond({ status: 'success', content: '' });
    await waitForEnd(client);
    await conn.waitForClose();
    expect(timers.pending).toBe(0);
    expect(client.reconnect()).toBe(false);
    expect(gw.upgrades).toHaveLength(1);
  });

  it('with reconnect: false stays down after a drop until reconnect() resumes', async () => {
    const timers = new RecordingTimers();
    const { gw, ch, client, conn } = await startJoined({ timers, reconnect: false });
    ch.tokens('before ');
    await waitForState(client, (s) => s.text === 'before ');
    const disconnected = nextEvent(client, 'disconnected');
    conn.drop();
    const [reason, transition] = await disconnected;
    expect(reason).toBe('lost');
    expect(transition.current).toBe('disconnected');
    expect(timers.pending).toBe(0);
    ch.tokens('during ');
    const rejoined = ch.waitForJoin();
    expect(client.reconnect()).toBe(true);
    await rejoined;
    ch.tokens('after');
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('before during after');
    expect(gw.upgrades.map((u) => u.token)).toEqual([ch.wsToken, ch.resumeTokens[0]]);
  });

  it('reconnects after the server closes the link cleanly', async () => {
    const { ch, client, conn } = await startJoined();
    const rejoined = ch.waitForJoin();
    conn.close(1001, 'going away');
    await rejoined;
    ch.tokens('ok');
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('ok');
  });
});
