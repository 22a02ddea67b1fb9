/**
 * Several gateways on one Redis, in one process (the separate-process runs with kill -9 are in
 * e2e.multinode.test.ts): any node serves any channel, callbacks and cancels reach the node that
 * runs the request, a node that goes away has its requests finished by another, and a restart of
 * every node loses nothing.
 */
import { createHash } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { AsyncAck } from '@modelriver/node';
import { startGateway, type GatewayConfig, type RunningGateway } from '../src/gateway.js';
import { api, joinChannel, startAsync, until } from './e2e.helpers.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

describeWithRedis('gateways on one Redis', (redis) => {
  let nodes: RunningGateway[] = [];

  async function start(count: number, prefix: string, extra: Partial<GatewayConfig> = {}): Promise<RunningGateway[]> {
    const started: RunningGateway[] = [];
    for (let i = 0; i < count; i++) {
      started.push(await startGateway({ port: 0, mockTokenDelayMs: 0, redisUrl: redis().url, redisKeyPrefix: prefix, nodeLeaseMs: 600, ...extra }));
    }
    nodes.push(...started);
    return started;
  }

  afterEach(async () => {
    for (const node of nodes) await node.close();
    nodes = [];
  });

  /** Joins the ack's channel on `node` (not the node that accepted it). */
  const joinOn = (node: RunningGateway, ack: AsyncAck, lastSeq?: number) =>
    joinChannel(node.wsUrl, ack.ws_token, ack.websocket_channel, lastSeq);

  it('streams a request accepted on A to a client on B; the log answers on C; one project id for all', async () => {
    const [a, b, c] = (await start(3, uniquePrefix('e2e'))) as [RunningGateway, RunningGateway, RunningGateway];
    expect(new Set([a.projectId, b.projectId, c.projectId]).size).toBe(1);
    const ack = await startAsync(a, 'chat', 'across nodes');
    const channel = await joinOn(b, ack);
    const final = await channel.terminal();
    expect(final.status).toBe('success');
    expect(channel.text()).toBe(final.content);
    expect(final.content_sha256).toBe(sha256(final.content ?? ''));
    const last = channel.events.at(-1)?.payload;
    expect(final.last_seq).toBe(last?.['seq']);
    const log = await until(async () => {
      const answer = await api(c, `/v1/requests/${ack.channel_id}`);
      return answer.status === 200 && answer.body['status'] === 'success' ? answer.body : null;
    });
    expect(log['content']).toBe(final.content);
    await channel.close();
  });

  it('routes a callback received on B to A, which runs the event-driven request', async () => {
    const [a, b] = (await start(2, uniquePrefix('e2e'))) as [RunningGateway, RunningGateway];
    const ack = await startAsync(a, 'chat', 'enrich me', { events: ['enrich'] });
    const channel = await joinOn(b, ack);
    await channel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');
    const answer = await api(b, `/v1/callback/${ack.channel_id}`, { data: { enriched: true }, task_id: 't1' });
    expect(answer.status).toBe(200);
    const final = await channel.terminal();
    expect(final).toMatchObject({ status: 'completed', data: { enriched: true }, task_id: 't1' });
    // A second callback, on another node, is refused like on one node.
    const again = await api(b, `/v1/callback/${ack.channel_id}`, { data: {} });
    expect(again.status).toBe(409);
    await channel.close();
  });

  it('routes a cancel pushed on B to A', async () => {
    const [a, b] = (await start(2, uniquePrefix('e2e'), { mockTokenDelayMs: 20 })) as [RunningGateway, RunningGateway];
    const ack = await startAsync(a, 'chat', 'cancel me');
    const channel = await joinOn(b, ack);
    await channel.waitFor((e) => e.event === 'tokens');
    expect(await channel.push('cancel', {})).toMatchObject({ status: 'ok' });
    const final = await channel.terminal();
    expect(final.status).toBe('cancelled');
    expect(channel.text()).toBe(final.content);
    await channel.close();
  });

  it('finishes on another node a request whose node went away mid-stream: node_lost, one response, text intact', async () => {
    const prefix = uniquePrefix('e2e');
    const [a, b] = (await start(2, prefix, { mockTokenDelayMs: 15 })) as [RunningGateway, RunningGateway];
    const ack = await startAsync(a, 'chat', 'survive the node');
    const channel = await joinOn(b, ack);
    await channel.waitFor((e) => e.event === 'tokens');
    await a.close();
    const final = await channel.terminal(15_000);
    expect(final.status).toBe('success');
    expect(channel.text()).toBe(final.content);
    const failover = channel.events.find((e) => e.event === 'status' && e.payload['status'] === 'failover');
    expect(failover?.payload).toMatchObject({ reason: 'node_lost' });
    expect(channel.events.filter((e) => e.event === 'response')).toHaveLength(1);
    const seqs = channel.events.map((e) => e.payload['seq'] as number);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
    await channel.close();
  });

  it('honours a cancel sent while the node running the request is gone', async () => {
    const [a, b] = (await start(2, uniquePrefix('e2e'), { mockTokenDelayMs: 15 })) as [RunningGateway, RunningGateway];
    const ack = await startAsync(a, 'chat', 'cancel me while my node is down');
    const channel = await joinOn(b, ack);
    await channel.waitFor((e) => e.event === 'tokens');
    await a.close();
    expect(await channel.push('cancel', {})).toMatchObject({ status: 'ok' });
    const final = await channel.terminal(15_000);
    expect(final.status).toBe('cancelled');
    expect(channel.text()).toBe(final.content);
    await channel.close();
  });

  it('hands the sockets of a node that lost its lease over to the node that took the request: no hang', async () => {
    const prefix = uniquePrefix('e2e');
    const [a, b] = (await start(2, prefix, { mockTokenDelayMs: 15 })) as [RunningGateway, RunningGateway];
    const ack = await startAsync(a, 'chat', 'a node cut off from Redis');
    const onA = await joinOn(a, ack);
    await onA.waitFor((e) => e.event === 'tokens');
    // As if A had been cut off for longer than its lease: it lapses, B takes the request.
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis().url);
    await admin.del(`${prefix}lease:${ack.channel_id}`);
    admin.disconnect();
    const final = await onA.terminal(15_000);
    expect(final.status).toBe('success');
    expect(onA.text()).toBe(final.content);
    expect(onA.events.filter((e) => e.event === 'response')).toHaveLength(1);
    expect(onA.events.some((e) => e.event === 'status' && e.payload['reason'] === 'node_lost')).toBe(true);
    await onA.close();
  });

  it('delivers a webhook for a CLI connected to node B from node A, once each', async () => {
    // No retries: an attempt made on A (either node's worker takes a job) must reach B's CLI at once.
    const [a, b] = (await start(2, uniquePrefix('e2e'), { webhookRetryScheduleMs: [] })) as [RunningGateway, RunningGateway];
    const topic = `webhooks:${b.projectId}`;
    const ws = new WebSocket(`${b.wsUrl}/websocket?vsn=2.0.0`, { headers: { authorization: `Bearer ${b.apiKey}` } });
    const received: string[] = [];
    let joined!: () => void;
    const ready = new Promise<void>((resolve) => (joined = resolve));
    ws.on('message', (data) => {
      const [, ref, , event, payload] = JSON.parse(String(data)) as [string, string, string, string, Record<string, any>];
      if (event === 'phx_reply' && ref === 'join') joined();
      if (event !== 'webhook') return;
      received.push(JSON.parse(payload['body'] as string)['id'] as string);
      ws.send(JSON.stringify(['join', null, topic, 'webhook_result', { attempt_id: payload['attempt_id'], status: 200 }]));
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify(['join', 'join', topic, 'phx_join', {}]));
    await ready;
    const acks = [];
    for (let i = 0; i < 8; i++) acks.push(await startAsync(a, 'chat', `cli ${i}`, { webhook_url: 'cli' }));
    for (const ack of acks) {
      await until(async () => {
        const log = await api(a, `/v1/requests/${ack.channel_id}`);
        const state = log.body['webhooks']?.[0]?.state;
        return state === 'delivered' || state === 'dead' ? state : null;
      }, 15_000).then((state) => expect(state).toBe('delivered'));
    }
    expect(received).toHaveLength(8);
    expect(new Set(received).size).toBe(8);
    ws.terminate();
  });

  it('loses nothing when every node stops and starts again: the log, the channel and a resume', async () => {
    const prefix = uniquePrefix('e2e');
    const [a] = (await start(1, prefix)) as [RunningGateway];
    const ack = await startAsync(a, 'chat', 'before the restart');
    const channel = await joinOn(a, ack);
    const final = await channel.terminal();
    const resumeToken = channel.joinReply['response']['resume_token'] as string;
    await channel.close();
    await a.close();
    nodes = [];
    const [b] = (await start(1, prefix)) as [RunningGateway];
    expect(b.projectId).toBe(a.projectId);
    const log = await api(b, `/v1/requests/${ack.channel_id}`);
    expect(log.body).toMatchObject({ status: 'success', content: final.content });
    const resumed = await joinChannel(b.wsUrl, resumeToken, ack.websocket_channel, 1);
    const again = await resumed.terminal();
    expect(again.content).toBe(final.content);
    await resumed.close();
  });
});
