import { describe, expect, it } from 'vitest';
import { ModelRiverError } from './index.js';
import type { ModelRiverClientOptions } from './index.js';
import { RecordingTimers, createClient, nextEvent, startGateway, startJoined, waitForState } from '../test/harness.js';
import type { Joined } from '../test/harness.js';

/** Like startJoined, with the gateway's reconnect route as the client's backend (`apiBaseUrl`). */
async function joinedWithBackend(options: ModelRiverClientOptions): Promise<Joined> {
  const gw = await startGateway();
  const ch = gw.createChannel();
  const client = createClient({ apiBaseUrl: gw.httpUrl, ...options });
  const joined = ch.waitForJoin();
  client.connect(gw.connectOptions(ch));
  return { gw, ch, client, conn: await joined };
}

/** A gateway that forgot the channel (restarted, or the request expired): resume tokens are refused, the backend says why. */
describe('a channel the gateway forgot', () => {
  it.each([
    [{ status: 409, code: 'channel_expired', message: 'the channel has finished and its events are gone' }, 'channel_expired'],
    [{ status: 404, code: 'not_found', message: 'Unknown channel' }, 'not_found'],
    [{ status: 410, code: 'gone', message: 'gone' }, 'not_found'],
  ] as const)('ends with the backend\'s answer (%o → %s), not token_unavailable, and is not retried', async (failure, code) => {
    const timers = new RecordingTimers();
    const backed = await joinedWithBackend({ timers, persist: true, storageKeyPrefix: `gone_${failure.status}_` });
    backed.ch.tokens('kept');
    await waitForState(backed.client, (s) => s.text === 'kept');
    backed.ch.revokeTokens();
    backed.gw.reconnectFailure = { ...failure };
    const failed = nextEvent(backed.client, 'error');
    backed.conn.drop();
    const [error] = await failed;
    expect(error.code).toBe(code);
    expect(error.message).toContain(failure.message);
    expect(backed.client.getState()).toMatchObject({ status: 'error', errorCode: code, text: 'kept', hasPendingRequest: false });
    expect(backed.gw.httpRequests.map((r) => r.status)).toEqual([failure.status]);
    expect(backed.client.hasPendingRequest()).toBe(false);
    expect(backed.client.reconnect()).toBe(false);
    // Nothing scheduled: no retry, no backend call will follow.
    expect(timers.pending).toBe(0);
  });

  it('a getToken that throws the reconnect answer\'s code (as @modelriver/node does) ends with it instead of retrying', async () => {
    let asked = 0;
    const timers = new RecordingTimers();
    const { ch, client, conn } = await startJoined({
      timers,
      getToken: async () => {
        asked++;
        throw Object.assign(new Error('Unknown channel'), { code: 'not_found', status: 404 });
      },
    });
    ch.revokeTokens();
    const failed = nextEvent(client, 'error');
    conn.drop();
    const [error] = await failed;
    expect(error).toBeInstanceOf(ModelRiverError);
    expect(error.code).toBe('not_found');
    expect(asked).toBe(1);
    expect(timers.pending).toBe(0);
  });

  it('with apiBaseUrl set, a backend that gives no token does not tell the app to pass apiBaseUrl', async () => {
    const { gw, ch, client, conn } = await joinedWithBackend({ getToken: async () => null });
    ch.revokeTokens();
    // The backend refuses for a reason that does not say the channel is gone (a 403: not allowed).
    gw.reconnectFailure = { status: 403, code: 'forbidden' };
    const failed = nextEvent(client, 'error');
    conn.drop();
    const [error] = await failed;
    expect(error.code).toBe('token_unavailable');
    expect(error.message).not.toMatch(/pass getToken or apiBaseUrl/);
  });

  it('reconnectWithBackend() for a channel the backend no longer knows ends the request with its code', async () => {
    const { gw, client, conn } = await joinedWithBackend({ reconnect: false, persist: true, storageKeyPrefix: 'gone_rwb_' });
    gw.reconnectFailure = { status: 409, code: 'channel_expired', message: 'expired' };
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    expect(client.hasPendingRequest()).toBe(true);
    const failed = nextEvent(client, 'error');
    await expect(client.reconnectWithBackend()).resolves.toBe(false);
    expect((await failed)[0].code).toBe('channel_expired');
    expect(client.hasPendingRequest()).toBe(false);
  });
});
