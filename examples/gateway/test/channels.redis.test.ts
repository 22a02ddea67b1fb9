/**
 * The channel hub on a Redis backplane: several hubs (nodes) on one Redis serve the same channels.
 * The channel is run on node A; clients join, resume and cancel on B and C.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelHandle } from '../src/channels/index.js';
import { connectRedisNode, type RedisNode } from '../src/store/redis-node.js';
import { connectRedis } from '../src/store/redis.js';
import { applyStrict, PROJECT_ID, startHub, TestClient, type HubFixture } from './channels.harness.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

interface Node {
  fx: HubFixture;
  redis: RedisNode;
}

describeWithRedis('the channel hub on Redis', (redis) => {
  let nodes: Node[] = [];

  async function startNodes(count: number, prefix = uniquePrefix('hub')): Promise<Node[]> {
    const started: Node[] = [];
    for (let i = 0; i < count; i++) {
      const node = await connectRedisNode({ url: redis().url, prefix, retentionMs: 60_000 });
      const fx = await startHub({ backplane: node.backplane });
      started.push({ fx, redis: node });
    }
    nodes.push(...started);
    return started;
  }

  afterEach(async () => {
    for (const node of nodes) {
      await node.fx.close();
      await node.redis.close();
    }
    nodes = [];
  });

  function open(node: Node, onCancel: () => void = () => {}): { channelId: string; channel: ChannelHandle; topic: string } {
    const channelId = randomUUID();
    const channel = node.fx.hub.open(channelId, { onCancel });
    return { channelId, channel, topic: channel.topic };
  }

  it('lets a client join on node B a channel generating on node A, with the replay merged and live events after', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    const { channelId, channel, topic } = open(a);
    channel.publish('status', { status: 'processing' });
    for (const delta of ['Hé', 'llo', ' 👋']) channel.publish('tokens', { delta });
    const token = await a.fx.hub.issueToken(channelId);
    const client = await TestClient.connect(b.fx.socketUrl, token);
    const reply = await client.join(topic);
    expect(reply[4]).toMatchObject({ status: 'ok', response: { last_seq: 4 } });
    for (const delta of [' wor', 'ld']) channel.publish('tokens', { delta });
    channel.publish('response', { status: 'success', channel_id: channelId, content: 'Héllo 👋 world', meta: {} });
    channel.finish();
    await client.waitFor((f) => f[3] === 'response');
    const applied = applyStrict(client.frames.filter((f) => f[3] !== 'phx_reply'));
    expect(applied.text).toBe('Héllo 👋 world');
    expect(applied.lastSeq).toBe(7);
    client.ws.close();
  });

  it('resumes on node C with a resume token from node B, getting exactly the rest', async () => {
    const [a, b, c] = (await startNodes(3)) as [Node, Node, Node];
    const { channelId, channel, topic } = open(a);
    channel.publish('tokens', { delta: 'one ' });
    const first = await TestClient.connect(b.fx.socketUrl, await a.fx.hub.issueToken(channelId));
    const joined = await first.join(topic);
    const resumeToken = (joined[4] as { response: { resume_token: string } }).response.resume_token;
    await first.waitFor((f) => f[3] === 'tokens');
    first.ws.terminate();
    channel.publish('tokens', { delta: 'two ' });
    channel.publish('tokens', { delta: 'three' });
    const second = await TestClient.connect(c.fx.socketUrl, resumeToken);
    const rejoined = await second.join(topic, { last_seq: 1 });
    expect(rejoined[4]).toMatchObject({ status: 'ok', response: { last_seq: 3 } });
    const rest = await second.waitFor((f) => f[3] === 'tokens');
    expect(rest[4]).toEqual({ seq: 3, first_seq: 2, delta: 'two three' });
    // Single use across nodes: the resume token is gone everywhere.
    await expect(TestClient.connect(a.fx.socketUrl, resumeToken)).rejects.toThrow(/403/);
    second.ws.close();
  });

  it('routes a cancel sent on node B to node A, which runs the channel', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    let cancelled!: () => void;
    const wasCancelled = new Promise<void>((resolve) => (cancelled = resolve));
    const { channelId, topic } = open(a, () => cancelled());
    const client = await TestClient.connect(b.fx.socketUrl, await a.fx.hub.issueToken(channelId));
    await client.join(topic);
    const reply = await client.push(topic, 'cancel', {}, '1');
    expect(reply[4]).toMatchObject({ status: 'ok' });
    await wasCancelled;
    client.ws.close();
  });

  it('refuses a join for a channel no node has, and a token for another project', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    await expect(b.fx.hub.issueToken(randomUUID())).rejects.toMatchObject({ code: 'channel_not_found' });
    const { channelId, topic } = open(a);
    const token = await a.fx.hub.issueToken(channelId); // waits for the channel to be in Redis
    expect(await b.fx.hub.describe(channelId)).toEqual({ channelId, topic });
    const client = await TestClient.connect(b.fx.socketUrl, token);
    const other = `ai_response:${PROJECT_ID}:${randomUUID()}`;
    expect((await client.join(other))[4]).toMatchObject({ status: 'error', response: { reason: 'unauthorized' } });
    client.ws.close();
  });

  it('fences a node whose channel another node took over: its later events reach nobody, and it is told', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    let fenced!: () => void;
    const wasFenced = new Promise<void>((resolve) => (fenced = resolve));
    const channelId = randomUUID();
    const channel = a.fx.hub.open(channelId, { onCancel() {}, onFenced: () => fenced() });
    channel.publish('tokens', { delta: 'mine' });
    const client = await TestClient.connect(b.fx.socketUrl, await a.fx.hub.issueToken(channelId));
    await client.join(channel.topic);
    await client.waitFor((f) => f[3] === 'tokens');
    // What a takeover does to the channel: another node is its owner now.
    await a.redis.redis.hset(`${a.redis.prefix}ch:${channelId}`, 'owner', 'another-node');
    channel.publish('tokens', { delta: ' stale' });
    await wasFenced;
    channel.publish('tokens', { delta: ' more' });
    await client.heartbeat();
    expect(client.frames.filter((f) => f[3] === 'tokens').map((f) => (f[4] as { delta: string }).delta)).toEqual(['mine']);
    expect(await a.redis.redis.llen(`${a.redis.prefix}log:${channelId}`)).toBe(1);
    client.ws.close();
  });

  it('moves the sockets of a node that released a channel over to its new owner, with nothing lost or repeated', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    const { channelId, channel, topic } = open(a);
    channel.publish('tokens', { delta: 'first ' });
    const client = await TestClient.connect(a.fx.socketUrl, await a.fx.hub.issueToken(channelId));
    await client.join(topic);
    await client.waitFor((f) => f[3] === 'tokens');
    // What a takeover does: B becomes the owner and adopts the log; A is told it lost the lease.
    await a.redis.redis.hset(`${a.redis.prefix}ch:${channelId}`, 'owner', b.redis.nodeId);
    channel.release();
    const adopted = await b.fx.hub.adopt(channelId, { onCancel() {} });
    expect(adopted?.lastSeq).toBe(1);
    adopted?.publish('tokens', { delta: 'second' });
    adopted?.publish('response', { status: 'success', channel_id: channelId, content: 'first second', meta: {} });
    adopted?.finish();
    await client.waitFor((f) => f[3] === 'response');
    const applied = applyStrict(client.frames.filter((f) => f[3] !== 'phx_reply'));
    expect(applied.text).toBe('first second');
    expect(applied.lastSeq).toBe(3);
    client.ws.close();
  });

  it('writes a batch once even when it is sent twice (a retry after a lost reply), and refuses a gap', async () => {
    const [a] = (await startNodes(1)) as [Node];
    const { redis: client, prefix, nodeId } = a.redis;
    const id = randomUUID();
    const write = (...ops: string[]) => client.mrWrite(prefix, nodeId, '60000', '60000', '[]', ...ops);
    expect(await write('o', id, `ai_response:${PROJECT_ID}:${id}`)).toEqual([]);
    expect(await write('a', id, '1', '2', '.He', '.llo')).toEqual([]);
    expect(await write('a', id, '1', '2', '.He', '.llo')).toEqual([]); // the same batch again
    expect(await client.lrange(`${prefix}log:${id}`, 0, -1)).toEqual(['.He', '.llo']);
    expect(await write('a', id, '5', '1', '.gap')).toEqual([id]); // seq 3 and 4 never came
    expect(await client.llen(`${prefix}log:${id}`)).toBe(2);
    expect(await client.pttl(`${prefix}log:${id}`)).toBeGreaterThan(0);
  });

  it('keeps publishing through a Redis outage: what was produced meanwhile reaches the client after, in order', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    const { channelId, channel, topic } = open(a);
    channel.publish('tokens', { delta: 'before ' });
    const client = await TestClient.connect(b.fx.socketUrl, await a.fx.hub.issueToken(channelId));
    await client.join(topic);
    await client.waitFor((f) => f[3] === 'tokens');
    await redis().kill();
    for (const delta of ['during ', 'the ', 'outage ']) channel.publish('tokens', { delta });
    // No token for it goes out while Redis cannot have it (the HTTP layer answers 503), and no hang.
    await expect(a.fx.hub.issueToken(channelId)).rejects.toThrow();
    // A join that needs Redis is refused with a transient reason; the socket keeps its subscription.
    const refused = await client.join(topic, { last_seq: 1 });
    expect(refused[4]).toEqual({ status: 'error', response: { reason: 'store_unavailable' } });
    await redis().start();
    channel.publish('tokens', { delta: 'after' });
    channel.publish('response', { status: 'success', channel_id: channelId, content: 'before during the outage after', meta: {} });
    await client.waitFor((f) => f[3] === 'response');
    const applied = applyStrict(client.frames.filter((f) => f[3] !== 'phx_reply'));
    expect(applied.text).toBe('before during the outage after');
    client.ws.close();
  });

  it('keeps a finished channel joinable from another node, and a late joiner gets the whole log', async () => {
    const [a, b] = (await startNodes(2)) as [Node, Node];
    const { channelId, channel, topic } = open(a);
    channel.publish('tokens', { delta: 'done' });
    channel.publish('response', { status: 'success', channel_id: channelId, content: 'done', meta: {} });
    channel.finish();
    const token = await a.fx.hub.issueToken(channelId);
    await a.redis.backplane.close(); // everything written
    const late = await TestClient.connect(b.fx.socketUrl, token);
    await late.join(topic);
    await late.waitFor((f) => f[3] === 'response');
    expect(applyStrict(late.frames.filter((f) => f[3] !== 'phx_reply')).text).toBe('done');
    late.ws.close();
  });
});

describe('connecting to Redis', () => {
  it('fails a start against a Redis that is not there, naming it, instead of waiting forever', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(connectRedis(`redis://:secret@127.0.0.1:${port}`, 'test', 300)).rejects.toThrow(
      new RegExp(`could not connect to Redis at redis://:\\*\\*\\*@127.0.0.1:${port}`),
    );
  });
});
