import { describe, expect, it } from 'vitest';
import type { Frame, TokensPayload } from './index.js';
import type { FakeChannel, FakeGateway } from '@modelriver/test-utils';
import { createClient, nextEvent, seeded, startGateway, startJoined, tick, waitForEnd, waitForState } from '../test/harness.js';

/** The `tokens` frame the fake logged at `seq`, as it would be sent to the current join. */
function loggedFrame(gw: FakeGateway, ch: FakeChannel, seq: number): Frame {
  const joins = gw.received.filter((f) => f.frame?.[3] === 'phx_join');
  const joinRef = joins.at(-1)?.frame?.[0] ?? null;
  const entry = ch.log[seq - 1];
  if (!entry) throw new Error(`no event ${seq}`);
  return [joinRef, null, ch.topic, entry.event, entry.payload];
}

describe('lossless resume', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: random drops mid-stream lose and duplicate nothing', async (seed) => {
    const random = seeded(seed);
    const gw = await startGateway();
    const ch = gw.createChannel();
    // getToken covers a drop between the upgrade and the join reply (no resume token yet).
    const client = createClient({ random, getToken: async () => ch.issueToken() });
    const deltas: string[] = [];
    let applied = 0;
    client.on('tokens', (e) => {
      deltas.push(e.delta);
      applied += e.seq - (e.first_seq ?? e.seq) + 1;
    });
    const vias: string[] = [];
    client.on('connecting', (i) => vias.push(i.via));
    const N = 300;
    const K = 8;
    const words = Array.from({ length: N }, (_, i) => `w${i}${random() < 0.1 ? '🌊' : ''} `);
    const dropAt = new Set<number>();
    while (dropAt.size < K) dropAt.add(1 + Math.floor(random() * (N - 1)));

    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    let drops = 0;
    const dropOpen = async (): Promise<void> => {
      if (gw.connections.length === 0) await gw.waitForConnection();
      drops += gw.connections.length;
      gw.dropAll();
    };
    for (let i = 0; i < N; i++) {
      ch.tokens(words[i] as string);
      if (dropAt.has(i)) {
        const mode = random();
        await dropOpen();
        if (mode < 0.33) {
          // Also kill the next link during its upgrade/join: its token is spent, no resume token yet.
          const next = await gw.waitForConnection();
          drops += 1;
          next.drop();
        } else if (mode < 0.66) {
          await ch.waitForJoin(); // replay happens while tokens keep coming
        }
      }
      // Let socket I/O interleave at random points, sometimes several events per turn.
      if (random() < 0.3) await tick();
    }
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client, 15_000);
    const original = words.join('');

    expect(drops).toBeGreaterThanOrEqual(K);
    // The first link used the ws_token; every later one a resume token or (mid-join drops) getToken.
    expect(vias.filter((v) => v === 'ws_token')).toHaveLength(1);
    expect(vias).toContain('resume_token');
    expect(vias.slice(1).every((v) => v === 'resume_token' || v === 'get_token')).toBe(true);
    expect(deltas.join('')).toBe(original);
    expect(state.text).toBe(original);
    expect(applied).toBe(N);
    expect(state.metrics.tokenCount).toBe(N);
    expect(state.lastSeq).toBe(N + 1);
    // Every accepted upgrade presented a token never presented before.
    // No spent token was ever presented again (it would have been refused).
    expect(gw.upgrades.every((u) => u.accepted)).toBe(true);
    const accepted = gw.upgrades.filter((u) => u.accepted).map((u) => u.token);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(gw.upgrades.filter((u) => u.token === ch.wsToken)).toHaveLength(1);
  });

  it('a gap triggers leave + join with last_seq on the same link, then the missing events are replayed once', async () => {
    const { gw, ch, client, conn } = await startJoined();
    ch.tokens('a');
    await waitForState(client, (s) => s.lastSeq === 1);
    ch.pause();
    ch.tokens('b'); // seq 2, held back
    ch.tokens('c'); // seq 3, held back
    const since = gw.received.length;
    const rejoined = ch.waitForJoin();
    conn.inject(loggedFrame(gw, ch, 3)); // seq 3 arrives without seq 2
    await rejoined;
    const leave = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_leave', { since });
    const join = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join', { since });
    expect(leave.connectionId).toBe(conn.id);
    expect(join.connectionId).toBe(conn.id);
    expect(join.frame?.[4]).toEqual({ last_seq: 1 });
    ch.resume();
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('abc');
    expect(state.metrics.tokenCount).toBe(3);
    expect(gw.upgrades).toHaveLength(1);
  });

  it('drops duplicates silently', async () => {
    const { gw, ch, client, conn } = await startJoined();
    const errors: unknown[] = [];
    const emitted: string[] = [];
    client.on('protocol_error', (e) => errors.push(e));
    client.on('tokens', (e) => emitted.push(e.delta));
    ch.tokens('x');
    ch.tokens('y');
    await waitForState(client, (s) => s.lastSeq === 2);
    conn.inject(loggedFrame(gw, ch, 1));
    conn.inject(loggedFrame(gw, ch, 2));
    ch.tokens('z');
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('xyz');
    expect(emitted).toEqual(['x', 'y', 'z']);
    expect(state.metrics.tokenCount).toBe(3);
    expect(errors).toEqual([]);
  });

  it('reports a merged frame overlapping applied events, drops it and recovers the rest by rejoining', async () => {
    const { gw, ch, client, conn } = await startJoined();
    ch.tokens('1');
    ch.tokens('2');
    await waitForState(client, (s) => s.lastSeq === 2);
    ch.pause();
    ch.tokens('3');
    const protocolError = nextEvent(client, 'protocol_error');
    const rejoined = ch.waitForJoin();
    const joinRef = loggedFrame(gw, ch, 1)[0];
    const overlapping: TokensPayload = { seq: 3, first_seq: 2, delta: '23' };
    conn.inject([joinRef, null, ch.topic, 'tokens', overlapping]);
    const [info] = await protocolError;
    expect(info.code).toBe('invalid_payload');
    expect(info.frame).toContain('"first_seq":2');
    await rejoined;
    ch.resume();
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('123');
  });

  it('resumes a merged replay after a long outage: the events produced meanwhile arrive once, in one frame', async () => {
    const frames: TokensPayload[] = [];
    const { ch, client, conn } = await startJoined({ reconnect: false }, (c) => c.on('tokens', (e) => frames.push(e)));
    ch.tokens('a');
    await waitForState(client, (s) => s.lastSeq === 1);
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    for (const c of 'bcdef') ch.tokens(c);
    const rejoined = ch.waitForJoin();
    client.reconnect();
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('abcdef');
    expect(frames.at(-1)).toEqual({ seq: 6, first_seq: 2, delta: 'bcdef' });
    expect(state.metrics.tokenCount).toBe(6);
    expect(state.lastSeq).toBe(7);
  });
});
