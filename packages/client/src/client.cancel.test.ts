import { describe, expect, it } from 'vitest';
import type { DropInfo } from './index.js';
import { nextEvent, startJoined, waitForEnd, waitForState } from '../test/harness.js';

describe('cancel', () => {
  it('pushes cancel, resolves when answered, and the request ends cancelled', async () => {
    const { gw, ch, client, conn } = await startJoined();
    ch.tokens('partial');
    await waitForState(client, (s) => s.text === 'partial');
    const since = gw.received.length;
    await client.cancel();
    const push = await gw.waitForFrame((f) => f.frame?.[3] === 'cancel', { since });
    expect(push.frame).toEqual([expect.any(String), expect.any(String), ch.topic, 'cancel', {}]);
    const state = await waitForEnd(client);
    // A user's Stop is not an error (issue 8, item 7: errorCode used to be 'cancelled').
    expect(state).toMatchObject({ status: 'cancelled', text: 'partial', errorCode: null, error: null });
    expect(ch.ended).toBe('cancelled');
    expect((await conn.waitForClose()).code).toBe(1000);
  });

  it('a cancel made while the link is down is sent after the rejoin', async () => {
    const { gw, client, conn } = await startJoined();
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    const cancelled = client.cancel();
    await cancelled;
    const push = await gw.waitForFrame((f) => f.frame?.[3] === 'cancel');
    expect(push.connectionId).not.toBe(conn.id);
    expect((await waitForEnd(client)).status).toBe('cancelled');
  });

  it('resolves when the request ends before the cancel is answered', async () => {
    const { ch, client, conn } = await startJoined({ reconnect: false });
    ch.onCancel = () => undefined; // the gateway ignores it…
    // …and the request ends on its own before the reply is read.
    conn.inject([null, null, ch.topic, 'response', { seq: 1, status: 'success', channel_id: ch.channelId, meta: {} }]);
    await expect(client.cancel()).resolves.toBeUndefined();
  });

  it('a cancel that cannot be delivered in time rejects with push_timeout and is reported as dropped', async () => {
    const { client, conn } = await startJoined({ reconnect: false, pushBuffer: { timeoutMs: 30 } });
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    const dropped = nextEvent(client, 'dropped');
    await expect(client.cancel()).rejects.toMatchObject({ code: 'push_timeout' });
    expect((await dropped)[0]).toEqual<DropInfo>({ kind: 'push', event: 'cancel', reason: 'timeout' });
  });

  it('pushes beyond pushBuffer.maxSize are refused with push_overflow', async () => {
    const { client, conn } = await startJoined({ reconnect: false, pushBuffer: { maxSize: 1, timeoutMs: 10_000 } });
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    const first = client.cancel();
    await expect(client.cancel()).rejects.toMatchObject({ code: 'push_overflow' });
    client.disconnect();
    await expect(first).rejects.toMatchObject({ code: 'cancelled' });
  });
});
