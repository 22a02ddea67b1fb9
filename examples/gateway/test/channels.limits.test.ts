/**
 * What the hub does with client bytes it cannot use (contract section 2, "Frames" and "Limits"):
 * a valid WebSocket message that is not a usable Phoenix frame is dropped and the socket stays
 * open; bytes that break the WebSocket layer itself close the socket with the RFC 6455 code.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openChannel, replyOf, startHub, TestClient, type HubFixture } from './channels.harness.js';

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

/** A heartbeat padded to exactly `bytes` bytes of JSON. */
function paddedHeartbeat(bytes: number): string {
  const empty = '[null,"9","phoenix","heartbeat",{"pad":""}]';
  return `[null,"9","phoenix","heartbeat",{"pad":"${'x'.repeat(bytes - empty.length)}"}]`;
}

describe('frame size limits', () => {
  it('drops a message over maxFrameBytes but within maxMessageBytes, and keeps the socket open', async () => {
    fx = await startHub({ maxFrameBytes: 1024, maxMessageBytes: 4096 });
    const { topic, token } = await openChannel(fx.hub);
    const client = await connect(token);
    client.sendRaw(paddedHeartbeat(1025));
    client.sendRaw(paddedHeartbeat(4096));
    expect(replyOf(await client.heartbeat()).status).toBe('ok');
    expect(client.frames.some((f) => f[1] === '9')).toBe(false);
    expect(fx.hub.stats().droppedFrames).toBe(2);
    expect(replyOf(await client.join(topic)).status).toBe('ok');
  });

  it('answers a message of exactly maxFrameBytes', async () => {
    fx = await startHub({ maxFrameBytes: 1024 });
    const client = await connect((await openChannel(fx.hub)).token);
    client.sendRaw(paddedHeartbeat(1024));
    expect(replyOf(await client.waitFor((f) => f[1] === '9')).status).toBe('ok');
  });

  it('closes with 1009 on a message over maxMessageBytes, without reading it', async () => {
    fx = await startHub({ maxFrameBytes: 1024, maxMessageBytes: 4096 });
    const client = await connect((await openChannel(fx.hub)).token);
    client.sendRaw(paddedHeartbeat(4097));
    expect((await client.closed).code).toBe(1009);
    expect(fx.hub.stats().droppedFrames).toBe(0);
  });

  it('never closes below maxFrameBytes, whatever maxMessageBytes says', async () => {
    fx = await startHub({ maxFrameBytes: 8192, maxMessageBytes: 1024 });
    const client = await connect((await openChannel(fx.hub)).token);
    client.sendRaw(paddedHeartbeat(8192));
    expect(replyOf(await client.waitFor((f) => f[1] === '9')).status).toBe('ok');
    client.sendRaw(paddedHeartbeat(8193));
    expect((await client.closed).code).toBe(1009);
  });

  it('refuses a non-positive maxMessageBytes', async () => {
    await expect(startHub({ maxMessageBytes: 0 })).rejects.toMatchObject({ code: 'invalid_option' });
  });
});

describe('bytes that break the WebSocket layer', () => {
  it('close with 1007 on invalid UTF-8 in a text frame', async () => {
    fx = await startHub();
    const client = await connect((await openChannel(fx.hub)).token);
    // `ws` does not validate what it sends: these bytes go out as a text frame as they are.
    client.ws.send(Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), { binary: false });
    expect((await client.closed).code).toBe(1007);
  });

  it('close with 1002 on bytes that are not WebSocket frames', async () => {
    fx = await startHub();
    const client = await connect((await openChannel(fx.hub)).token);
    // Unmasked, with reserved bits set: no client frame can look like this.
    client.tcp.write('GET / HTTP/1.1\r\n\r\n');
    expect((await client.closed).code).toBe(1002);
  });

  it('leave other sockets alone', async () => {
    fx = await startHub();
    const { channelId, topic, token } = await openChannel(fx.hub);
    const bad = await connect(token);
    const good = await connect(await fx.hub.issueToken(channelId));
    bad.tcp.write('\u0000\u0000\u0000');
    await bad.closed;
    expect(replyOf(await good.join(topic)).status).toBe('ok');
    await vi.waitFor(() => expect(fx!.hub.stats().sockets).toBe(1));
  });
});
