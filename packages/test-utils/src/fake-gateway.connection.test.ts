import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeGateway } from './fake-gateway.js';
import { RawClient } from './raw-client.js';

let gw: FakeGateway;
let client: RawClient | null = null;

beforeEach(async () => {
  gw = await FakeGateway.start();
});
afterEach(async () => {
  client?.close();
  client = null;
  await gw.close();
});

async function open(): Promise<RawClient> {
  const ch = gw.createChannel();
  client = await RawClient.connect(gw.socketUrl(ch.wsToken));
  return client;
}

describe('FakeGateway heartbeats', () => {
  it('answers a heartbeat with phx_reply ok on topic phoenix', async () => {
    const c = await open();
    c.send([null, '42', 'phoenix', 'heartbeat', {}]);
    expect(await c.waitFor((f) => f[1] === '42')).toEqual([null, '42', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
  });

  it('leaves heartbeats unanswered while replyToHeartbeats is false', async () => {
    const c = await open();
    gw.replyToHeartbeats = false;
    c.send([null, 'dead', 'phoenix', 'heartbeat', {}]);
    await gw.waitForFrame((f) => f.frame?.[1] === 'dead');
    gw.replyToHeartbeats = true;
    expect(await c.push('phoenix', 'heartbeat', {})).toEqual({ status: 'ok', response: {} });
    expect(c.frames.filter((f) => f[1] === 'dead')).toEqual([]);
  });
});

describe('FakeGateway recording and malformed frames', () => {
  it('records every frame in order, with null for ones it could not decode, and keeps the socket open', async () => {
    const c = await open();
    c.send('{garbage');
    c.send('[1,2,3]');
    expect(await c.push('phoenix', 'heartbeat', {})).toMatchObject({ status: 'ok' });
    const conn = gw.connections[0];
    expect(gw.received.map((f) => [f.connectionId, f.raw, f.frame])).toEqual([
      [conn?.id, '{garbage', null],
      [conn?.id, '[1,2,3]', null],
      [conn?.id, '[null,"1","phoenix","heartbeat",{}]', [null, '1', 'phoenix', 'heartbeat', {}]],
    ]);
    expect(conn?.received).toEqual(gw.received);
  });

  it('waitForFrame resolves from history, honours since, and times out with code timeout', async () => {
    const c = await open();
    await c.push('phoenix', 'heartbeat', {});
    const isHeartbeat = (f: { frame: unknown[] | null }): boolean => f.frame?.[3] === 'heartbeat';
    expect((await gw.waitForFrame(isHeartbeat)).frame?.[1]).toBe('1');
    const since = gw.received.length;
    const next = gw.waitForFrame(isHeartbeat, { since });
    c.send([null, 'x', 'phoenix', 'heartbeat', {}]);
    expect((await next).frame?.[1]).toBe('x');
    await expect(gw.waitForFrame(() => false, 20)).rejects.toMatchObject({ code: 'timeout' });
  });
});

describe('FakeConnection controls', () => {
  it('inject sends raw text or a frame as-is and records it in sent', async () => {
    const c = await open();
    const conn = gw.connections[0]!;
    conn.inject('not json');
    conn.inject([null, null, 'x', 'tokens', { seq: 1, delta: 'z' }]);
    await c.waitFor((f) => f[2] === 'x');
    expect(c.raw).toEqual(['not json', '[null,null,"x","tokens",{"seq":1,"delta":"z"}]']);
    expect(conn.sent).toEqual(c.raw);
  });

  it('drop terminates without a close frame (the client sees 1006)', async () => {
    const c = await open();
    const conn = gw.connections[0]!;
    conn.drop();
    expect((await c.closed).code).toBe(1006);
    await conn.waitForClose();
    expect(gw.connections).toEqual([]);
  });

  it('close sends a close frame with the code and reason', async () => {
    const c = await open();
    gw.connections[0]!.close(4001, 'bye');
    expect(await c.closed).toEqual({ code: 4001, reason: 'bye' });
  });

  it('waitForConnection resolves with the next connection, not the open one; dropAll drops them all', async () => {
    const first = await open();
    const ch = gw.createChannel();
    const next = gw.waitForConnection();
    const second = await RawClient.connect(gw.socketUrl(ch.wsToken));
    const conn = await next;
    expect(conn.id).toBe(2);
    expect(gw.connections.map((c) => c.id)).toEqual([1, 2]);
    gw.dropAll();
    expect([(await first.closed).code, (await second.closed).code]).toEqual([1006, 1006]);
  });

  it('close() rejects pending waits with code closed and refuses new ones', async () => {
    const pending = gw.waitForConnection();
    await gw.close();
    await expect(pending).rejects.toMatchObject({ code: 'closed' });
    await expect(gw.waitForFrame(() => true, { since: 0 })).rejects.toMatchObject({ code: 'closed' });
  });
});
