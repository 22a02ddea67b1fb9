import { describe, expect, it } from 'vitest';
import { createClient, nextEvent, startGateway, waitForEnd } from '../test/harness.js';

describe('heartbeat', () => {
  it('sends heartbeats on the phoenix topic and keeps a healthy link', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    // Long enough that a loaded machine does not miss a reply and see a spurious heartbeat_timeout.
    const client = createClient({ heartbeatInterval: 250 });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    // Three answered heartbeats in a row: the link survives each due time.
    for (let i = 0; i < 3; i++) {
      const since = gw.received.length;
      const hb = await gw.waitForFrame((f) => f.frame?.[3] === 'heartbeat', { since });
      expect(hb.frame).toEqual([null, expect.any(String), 'phoenix', 'heartbeat', {}]);
    }
    expect(conn.open).toBe(true);
    expect(gw.upgrades).toHaveLength(1);
  });

  it('closes a link whose heartbeat goes unanswered with 4000 and reconnects', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ heartbeatInterval: 50 });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('alive ');
    const disconnected = nextEvent(client, 'disconnected');
    gw.replyToHeartbeats = false; // the link is now "dead"
    const [reason, transition] = await disconnected;
    expect(reason).toBe('heartbeat_timeout');
    expect(transition).toMatchObject({ previous: 'connected', current: 'reconnecting' });
    expect(await conn.waitForClose()).toMatchObject({ code: 4000 });
    gw.replyToHeartbeats = true;
    const rejoined = ch.waitForJoin();
    ch.tokens('again');
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('alive again');
    expect(gw.upgrades.map((u) => u.token)).toEqual([ch.wsToken, ch.resumeTokens[0]]);
  });
});
