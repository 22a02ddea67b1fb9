import { afterEach, describe, expect, it } from 'vitest';
import { FakeGateway } from './fake-gateway.js';
import { RawClient } from './raw-client.js';

let gw: FakeGateway;
const clients: RawClient[] = [];
const connect = async (url: string): Promise<RawClient> => {
  const client = await RawClient.connect(url);
  clients.push(client);
  return client;
};

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await gw.close();
});

describe('FakeGateway upgrades', () => {
  it('serves ws://127.0.0.1:<port>/socket and accepts a fresh ws_token once', async () => {
    gw = await FakeGateway.start();
    expect(gw.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket$/);
    expect(gw.httpUrl).toBe(gw.url.replace('ws://', 'http://').replace('/socket', ''));
    const ch = gw.createChannel();
    const accepted = gw.waitForConnection();
    await connect(gw.socketUrl(ch.wsToken));
    const conn = await accepted;
    expect(conn.token).toBe(ch.wsToken);
    expect(conn.tokenKind).toBe('ws_token');
    expect(gw.connections).toEqual([conn]);

    await expect(RawClient.connect(gw.socketUrl(ch.wsToken))).rejects.toMatchObject({ code: 'refused', status: 403 });
    expect(gw.upgrades.map((u) => [u.accepted, u.status, u.reason, u.vsn])).toEqual([
      [true, 101, null, '2.0.0'],
      [false, 403, 'used', '2.0.0'],
    ]);
  });

  it('refuses a missing or unknown token with 403 and a wrong path with 404', async () => {
    gw = await FakeGateway.start();
    await expect(RawClient.connect(`${gw.url}/websocket?vsn=2.0.0`)).rejects.toMatchObject({ status: 403 });
    await expect(RawClient.connect(gw.socketUrl('wst_unknown'))).rejects.toMatchObject({ status: 403 });
    const ch = gw.createChannel();
    await expect(RawClient.connect(`${gw.url}/other?token=${ch.wsToken}`)).rejects.toMatchObject({ status: 404 });
    expect(gw.upgrades.map((u) => u.reason)).toEqual(['missing', 'unknown', 'wrong_path']);
    // The wrong-path attempt did not spend the token.
    await connect(gw.socketUrl(ch.wsToken));
  });

  it('refuses an expired token (on the injected clock)', async () => {
    let now = 0;
    gw = await FakeGateway.start({ now: () => now, tokenTtlMs: 1_000 });
    const ch = gw.createChannel();
    const fresh = ch.issueToken();
    now = 999;
    await connect(gw.socketUrl(fresh));
    now = 1_000;
    await expect(RawClient.connect(gw.socketUrl(ch.wsToken))).rejects.toMatchObject({ status: 403 });
    expect(gw.upgrades.at(-1)).toMatchObject({ accepted: false, reason: 'expired', at: 1_000 });
  });

  it('issues a resume token on join that works once, for the same topic, within its lifetime', async () => {
    let now = 0;
    gw = await FakeGateway.start({ now: () => now, resumeTokenTtlMs: 10_000 });
    const ch = gw.createChannel();
    const first = await connect(gw.socketUrl(ch.wsToken));
    const reply = (await first.join(ch.topic)) as { status: string; response: { resume_token: string } };
    const resumeToken = reply.response.resume_token;
    expect(ch.resumeTokens).toEqual([resumeToken]);

    const second = await connect(gw.socketUrl(resumeToken));
    expect(gw.connections.at(-1)?.tokenKind).toBe('resume_token');
    expect(await second.join(ch.topic)).toMatchObject({ status: 'ok' });
    await expect(RawClient.connect(gw.socketUrl(resumeToken))).rejects.toMatchObject({ status: 403 });

    const late = ((await second.join(ch.topic)) as { response: { resume_token: string } }).response.resume_token;
    now = 10_000;
    await expect(RawClient.connect(gw.socketUrl(late))).rejects.toMatchObject({ status: 403 });
  });

  it('revokeTokens makes unspent tokens of the channel unusable', async () => {
    gw = await FakeGateway.start();
    const ch = gw.createChannel();
    const spare = ch.issueToken();
    expect(ch.revokeTokens()).toBe(2);
    await expect(RawClient.connect(gw.socketUrl(spare))).rejects.toMatchObject({ status: 403 });
    expect(gw.upgrades.at(-1)?.reason).toBe('revoked');
  });
});
