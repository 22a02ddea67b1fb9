/**
 * Three gateway processes on one Redis (the in-process version is e2e.redis.test.ts): a channel
 * read on any node, resumes that hop between nodes, a node killed with SIGKILL mid-stream, every
 * node stopped and started again, Redis away for a while, and webhooks sent once across nodes.
 */
import { createHash } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { AsyncAck } from '@modelriver/node';
import type { ResponsePayload } from '@modelriver/client';
import { api, joinChannel, startAsync, startReceiver, until, type ChannelClient, type ReceivedEvent, type Receiver } from './e2e.helpers.js';
import { startCluster, target, type Cluster, type ClusterOptions, type GatewayProcess } from './multinode.helpers.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Generous: three node processes share two busy cores with the rest of the test run. */
const TEST_TIMEOUT_MS = 60_000;
const TERMINAL_TIMEOUT_MS = 20_000;

/** The seqs an event covers: a merged `tokens` frame (a replay) covers `first_seq`..`seq`. */
function covered(event: ReceivedEvent): [number, number] {
  const seq = event.payload['seq'] as number;
  const first = (event.payload['first_seq'] as number | undefined) ?? seq;
  return [first, seq];
}

/** Checks that `events` cover `from`..their last seq exactly once, in order; returns that last seq. */
function expectContiguous(events: ReceivedEvent[], from: number): number {
  let next = from;
  for (const event of events) {
    const [first, last] = covered(event);
    expect({ event: event.event, first }).toEqual({ event: event.event, first: next });
    expect(last).toBeGreaterThanOrEqual(first);
    next = last + 1;
  }
  return next - 1;
}

const tokensText = (events: ReceivedEvent[]): string =>
  events.filter((e) => e.event === 'tokens').map((e) => e.payload['delta'] as string).join('');

const TERMINAL = new Set(['success', 'error', 'cancelled', 'completed']);
const isTerminal = (e: ReceivedEvent): boolean => e.event === 'response' && TERMINAL.has(e.payload['status'] as string);

/** A small seeded generator: the cut points differ from cut to cut but are the same on every run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describeWithRedis('gateway processes on one Redis', (redis) => {
  let cluster: Cluster | undefined;
  const channels: ChannelClient[] = [];
  const receivers: Receiver[] = [];

  async function nodes(options: Partial<ClusterOptions> = {}): Promise<Cluster> {
    cluster = await startCluster({ redisUrl: redis().url, prefix: uniquePrefix('multinode'), ...options });
    return cluster;
  }

  async function join(node: GatewayProcess, token: string, topic: string, lastSeq?: number): Promise<ChannelClient> {
    const channel = await joinChannel(node.wsUrl, token, topic, lastSeq);
    channels.push(channel);
    return channel;
  }

  async function receiver(): Promise<Receiver> {
    const started = await startReceiver();
    receivers.push(started);
    return started;
  }

  /** The request's log once it is finished, read from `node`. */
  const finishedLog = (node: GatewayProcess, id: string) =>
    until(async () => {
      const answer = await api(target(node), `/v1/requests/${id}`);
      return answer.status === 200 && answer.body['status'] !== 'running' && answer.body['status'] !== 'pending' ? answer.body : null;
    }, TERMINAL_TIMEOUT_MS);

  afterEach(async () => {
    for (const channel of channels.splice(0)) channel.ws.terminate();
    for (const r of receivers.splice(0)) await r.close();
    await cluster?.close();
    cluster = undefined;
  });

  it('streams a request generated on one node to readers on the others, byte for byte', async () => {
    const { nodes: [a, b, c] } = (await nodes()) as Cluster & { nodes: [GatewayProcess, GatewayProcess, GatewayProcess] };
    expect(new Set([a.projectId, b.projectId, c.projectId]).size).toBe(1);
    expect(new Set([a.nodeId, b.nodeId, c.nodeId]).size).toBe(3);
    const ack = await startAsync(target(a), 'chat', 'generated on A, read on B and C');
    const onB = await join(b, ack.ws_token, ack.websocket_channel);
    expect(onB.joinReply['status']).toBe('ok');
    // C joins once the stream is under way: replay and live events must join without a seam.
    await onB.waitFor((e) => e.event === 'tokens');
    const resumeToken = onB.joinReply['response']['resume_token'] as string;
    const onC = await join(c, resumeToken, ack.websocket_channel);
    const [finalB, finalC] = await Promise.all([onB.terminal(TERMINAL_TIMEOUT_MS), onC.terminal(TERMINAL_TIMEOUT_MS)]);
    for (const [channel, final] of [[onB, finalB], [onC, finalC]] as Array<[ChannelClient, ResponsePayload]>) {
      expect(final.status).toBe('success');
      expect(channel.text()).toBe(final.content);
      expect(final.content_sha256).toBe(sha256(channel.text()));
      expect(expectContiguous(channel.events, 1)).toBe(final.last_seq);
    }
    expect(finalC.content).toBe(finalB.content);
    expect((finalB.content ?? '').length).toBeGreaterThan(0);
  }, TEST_TIMEOUT_MS);

  it('resumes on a different node after each of several socket cuts mid-stream: no seq twice or missing', async () => {
    const { nodes: all } = await nodes({ settings: { mockTokens: 160 } });
    const random = seeded(12);
    const ack = await startAsync(target(all[0] as GatewayProcess), 'chat', 'cut me off and resume me');
    const CUTS = 4;
    const received: ReceivedEvent[] = [];
    let token = ack.ws_token;
    let lastSeq: number | undefined;
    let cuts = 0;
    let final: ResponsePayload | undefined;
    for (let hop = 1; final === undefined; hop++) {
      const node = all[hop % all.length] as GatewayProcess;
      const channel = await join(node, token, ack.websocket_channel, lastSeq);
      expect(channel.joinReply['status'], `join on ${node.name} after ${cuts} cuts`).toBe('ok');
      token = channel.joinReply['response']['resume_token'] as string;
      const after = 3 + Math.floor(random() * 10);
      const reached =
        cuts < CUTS
          ? await Promise.race([
              channel.waitFor(() => channel.events.length >= after, TERMINAL_TIMEOUT_MS).then(() => 'cut' as const),
              channel.terminal(TERMINAL_TIMEOUT_MS).then(() => 'finished' as const),
            ])
          : 'finished';
      if (reached === 'cut') {
        const closed = new Promise((resolve) => channel.ws.once('close', resolve));
        channel.ws.terminate();
        await closed;
        cuts++;
      } else {
        final = await channel.terminal(TERMINAL_TIMEOUT_MS);
      }
      received.push(...channel.events);
      const last = channel.events.at(-1);
      if (last !== undefined) lastSeq = covered(last)[1];
    }
    // Every cut happened before the end: the stream is long enough for the machine.
    expect(cuts).toBe(CUTS);
    expect(final.status).toBe('success');
    expect(received.filter(isTerminal)).toHaveLength(1);
    expect(expectContiguous(received, 1)).toBe(final.last_seq);
    expect(tokensText(received)).toBe(final.content);
    expect(final.content_sha256).toBe(sha256(tokensText(received)));
  }, TEST_TIMEOUT_MS);

  it('finishes on a surviving node a request whose node was killed with SIGKILL mid-stream', async () => {
    const { nodes: [a, b, c] } = (await nodes({ settings: { mockTokens: 160 } })) as Cluster & {
      nodes: [GatewayProcess, GatewayProcess, GatewayProcess];
    };
    const ack = await startAsync(target(a), 'chat', 'outlive the node that runs me');
    const onB = await join(b, ack.ws_token, ack.websocket_channel);
    const onC = await join(c, onB.joinReply['response']['resume_token'] as string, ack.websocket_channel);
    await Promise.all([onB, onC].map((channel) => channel.waitFor((e) => e.event === 'tokens', TERMINAL_TIMEOUT_MS)));
    expect(onB.events.some(isTerminal), 'the stream must still be running when its node is killed').toBe(false);
    expect(await a.kill()).toEqual({ code: null, signal: 'SIGKILL' });

    const finals = await Promise.all([onB, onC].map((channel) => channel.terminal(TERMINAL_TIMEOUT_MS)));
    for (const [i, channel] of [onB, onC].entries()) {
      const final = finals[i] as ResponsePayload;
      expect(final.status).toBe('success');
      const failover = channel.events.find((e) => e.event === 'status' && e.payload['status'] === 'failover');
      expect(failover?.payload).toMatchObject({ reason: 'node_lost' });
      expect(channel.text()).toBe(final.content);
      expect(final.content_sha256).toBe(sha256(channel.text()));
      expect(expectContiguous(channel.events, 1)).toBe(final.last_seq);
    }
    // The channel's log is the record of what every reader gets: one response in it, whoever
    // finished the request, and the live readers got exactly that log.
    const log = await finishedLog(c, ack.channel_id);
    expect(log['status']).toBe('success');
    const replay = await join(b, onC.joinReply['response']['resume_token'] as string, ack.websocket_channel);
    const replayed = await replay.terminal(TERMINAL_TIMEOUT_MS);
    expect(replay.events.filter((e) => e.event === 'response')).toHaveLength(1);
    expect(replayed.last_seq).toBe(finals[0]?.last_seq);
    for (const channel of [onB, onC]) {
      expect(channel.events.filter((e) => e.event === 'response')).toHaveLength(1);
      expect(channel.events.at(-1)?.payload['seq']).toBe(replayed.last_seq);
    }
    expect(finals[1]?.content).toBe(finals[0]?.content);
  }, TEST_TIMEOUT_MS);

  it('loses nothing when every node stops and starts again: channels, logs, pending and dead webhooks', async () => {
    // A failed attempt is retried after 2 s, then 3 s: time enough to stop every node before Y
    // runs out of attempts, even on a busy machine.
    const schedule = [2_000, 3_000];
    const cl = await nodes({ settings: { webhookRetryScheduleMs: schedule } });
    const [a, b, c] = cl.nodes as [GatewayProcess, GatewayProcess, GatewayProcess];
    const deadReceiver = await receiver();
    deadReceiver.status = 500;
    const lateReceiver = await receiver();
    lateReceiver.status = 500;

    // X: its webhook fails every attempt before the stop, so it is a dead letter.
    const x = await startAsync(target(a), 'chat', 'my webhook dies', { webhook_url: deadReceiver.url });
    const onX = await join(b, x.ws_token, x.websocket_channel);
    const finalX = await onX.terminal(TERMINAL_TIMEOUT_MS);
    const resumeX = onX.joinReply['response']['resume_token'] as string;
    const deadId = await until(async () => {
      const answer = await api(target(c), '/v1/webhooks/dead-letters');
      const dead = (answer.body['dead_letters'] as Array<Record<string, unknown>>).find((d) => d['channel_id'] === x.channel_id);
      return dead?.['id'] as string | undefined;
    }, 20_000);
    expect(deadReceiver.received).toHaveLength(1 + schedule.length);

    // Y: its first attempt fails, then every node stops before the retry; its channel is never joined before.
    const y = await startAsync(target(b), 'chat', 'my webhook waits for the restart', { webhook_url: lateReceiver.url });
    const firstTry = await lateReceiver.waitFor((h) => h.body['channel_id'] === y.channel_id, 20_000);
    const yHookId = firstTry.headers['webhook-id'];
    const logY = await finishedLog(c, y.channel_id);
    expect(logY['status']).toBe('success');
    const exits = await cl.stopAll();
    expect(exits).toEqual([{ code: 0, signal: null }, { code: 0, signal: null }, { code: 0, signal: null }]);
    const triesBeforeRestart = lateReceiver.received.length;
    expect(triesBeforeRestart).toBeLessThanOrEqual(schedule.length); // not given up on yet
    lateReceiver.status = 200;
    const delivered = new Promise<void>((resolve) => {
      lateReceiver.onDelivery = (hook) => {
        if (hook.headers['webhook-id'] === yHookId) resolve();
      };
    });

    await cl.startAll();
    // The retry is made by a node of the second start, answered 200.
    await delivered;
    const deliveredLog = await until(async () => {
      const answer = await api(target(a), `/v1/requests/${y.channel_id}`);
      return answer.body['webhooks']?.[0]?.['state'] === 'delivered' ? answer.body : null;
    }, 20_000);
    expect(deliveredLog['content']).toBe(logY['content']);
    // The failed attempts from before the stop, then the one that got through: none lost, none repeated.
    const attempts = deliveredLog['webhooks'][0]['attempts'] as Array<Record<string, unknown>>;
    expect(attempts.map((t) => t['status'])).toEqual([...Array<number>(triesBeforeRestart).fill(500), 200]);
    expect(lateReceiver.received).toHaveLength(triesBeforeRestart + 1);

    // The dead letter is still listed, on every node.
    for (const node of [a, b, c]) {
      const answer = await api(target(node), '/v1/webhooks/dead-letters');
      expect(answer.status).toBe(200);
      expect((answer.body['dead_letters'] as Array<Record<string, unknown>>).map((d) => d['id'])).toContain(deadId);
    }
    expect(deadReceiver.received).toHaveLength(1 + schedule.length);

    // X's log, and its channel resumed from seq 3 with the resume token from before the restart.
    const logX = await api(target(b), `/v1/requests/${x.channel_id}`);
    expect(logX.body).toMatchObject({ status: 'success', content: finalX.content });
    const resumed = await join(c, resumeX, x.websocket_channel, 3);
    const againX = await resumed.terminal(TERMINAL_TIMEOUT_MS);
    expect(againX.content).toBe(finalX.content);
    expect(expectContiguous(resumed.events, 4)).toBe(finalX.last_seq);
    expect(tokensText(onX.events.filter((e) => covered(e)[1] <= 3)) + tokensText(resumed.events)).toBe(finalX.content);

    // Y's channel, joined for the first time after the restart with the ack's ws_token.
    const onY = await join(a, y.ws_token, y.websocket_channel);
    const finalY = await onY.terminal(TERMINAL_TIMEOUT_MS);
    expect(finalY.content).toBe(logY['content']);
    expect(onY.text()).toBe(finalY.content);
    expect(finalY.content_sha256).toBe(sha256(onY.text()));
  }, TEST_TIMEOUT_MS);

  it('answers 503 store_unavailable while Redis is away, and 202 again once it is back, without a restart', async () => {
    const cl = await nodes();
    const pids = cl.nodes.map((n) => n.pid);
    const post = (node: GatewayProcess) => api(target(node), '/v1/ai/async', { workflow: 'chat', messages: [{ role: 'user', content: 'is the store there?' }] });
    for (const node of cl.nodes) expect((await post(node)).status).toBe(202);

    await redis().kill();
    try {
      for (const node of cl.nodes) {
        const refused = await until(async () => {
          const answer = await post(node);
          return answer.status === 503 ? answer : null;
        }, 10_000);
        expect(refused.body).toMatchObject({ error: { code: 'store_unavailable' } });
        expect(typeof refused.body['error']['message']).toBe('string');
        expect(refused.headers.get('retry-after')).toBe('1');
      }
    } finally {
      await redis().start();
    }

    for (const node of cl.nodes) {
      const accepted = await until(async () => {
        const answer = await post(node);
        return answer.status === 202 ? answer : null;
      }, 20_000);
      expect(accepted.body['channel_id']).toEqual(expect.any(String));
    }
    // The same processes: none crashed or was restarted.
    expect(cl.nodes.map((n) => n.pid)).toEqual(pids);
    expect(cl.nodes.every((n) => n.running)).toBe(true);
  }, TEST_TIMEOUT_MS);

  it('delivers each webhook exactly once across nodes: 20 requests on three nodes, 20 ids, each received once', async () => {
    const cl = await nodes({ settings: { mockTokens: 8 } });
    const hooks = await receiver();
    const acks: AsyncAck[] = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        startAsync(target(cl.nodes[i % cl.nodes.length] as GatewayProcess), 'chat', `webhook ${i}`, { webhook_url: hooks.url }),
      ),
    );
    // Each request's log says its webhook was delivered (by whichever node's worker took it).
    for (const [i, ack] of acks.entries()) {
      const node = cl.nodes[(i + 1) % cl.nodes.length] as GatewayProcess;
      const log = await until(async () => {
        const answer = await api(target(node), `/v1/requests/${ack.channel_id}`);
        const state = answer.body['webhooks']?.[0]?.['state'];
        return state === 'delivered' || state === 'dead' ? answer.body : null;
      }, 20_000);
      expect(log['webhooks']).toHaveLength(1);
      expect(log['webhooks'][0]).toMatchObject({ state: 'delivered' });
      expect(log['webhooks'][0]['attempts']).toHaveLength(1);
    }
    const ids = hooks.received.map((h) => h.headers['webhook-id']);
    const counts = new Map<unknown, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect(counts.size).toBe(20);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect(ids).toHaveLength(20);
    // One per request, with the body's id in the header.
    expect(new Set(hooks.received.map((h) => h.body['channel_id']))).toEqual(new Set(acks.map((a) => a.channel_id)));
    for (const hook of hooks.received) expect(hook.headers['webhook-id']).toBe(hook.body['id']);
  }, TEST_TIMEOUT_MS);
});
