/**
 * The BullMQ webhook dispatcher against a real redis-server: several dispatchers on one prefix
 * stand for several gateway nodes. Each delivery must reach a real receiver exactly once (counted
 * by its webhook-id header, its signature verified), retries and dead letters must be visible
 * from every node, and neither a restart of the nodes nor a Redis outage may lose a delivery.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { WebhookAttemptLog } from '@modelriver/node';
import { createQueueWebhookDispatcher, type CreateQueueWebhookDispatcherOptions, type QueueWebhookDispatcher } from '../src/webhooks/index.js';
import type { WebhookDelivery } from '../src/webhooks/index.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';
import { SECRET, completedEvent, startReceiver, type Receiver, type ReceivedRequest } from './webhooks.helpers.js';

const CHANNEL = '3d1f6a2b-8c4e-4d5f-9a6b-7c8d9e0f1a2b';
const PROJECT_SECRET = 'whsec_' + Buffer.from('a project of its own, 32 bytes!!').toString('base64');
/** Bound of every awaited condition: generous, the machine is shared. */
const WAIT_MS = 15_000;

function headersOf(req: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Re-checks `check` (errors count as "not yet") until it holds, or fails after WAIT_MS. */
async function eventually<T>(check: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stateOf(node: QueueWebhookDispatcher, id: string, state: WebhookDelivery['state']): Promise<WebhookDelivery> {
  return eventually(async () => {
    const delivery = await node.get(id);
    return delivery?.state === state ? delivery : undefined;
  }, `${id} to be ${state}`);
}

describeWithRedis('webhook queue on Redis (BullMQ)', (redis) => {
  let receiver: Receiver;
  const nodes: QueueWebhookDispatcher[] = [];
  const errors: unknown[] = [];
  const attempts: Array<{ node: number; id: string; attempt: WebhookAttemptLog }> = [];
  const settled: Array<{ node: number; id: string; state: WebhookDelivery['state'] }> = [];
  /** Per webhook id: answers for its 1st, 2nd… request (the last repeats); 200 when absent. */
  const script = new Map<string, Array<number | 'hang'>>();
  const seen = new Map<string, number>();

  beforeAll(async () => {
    receiver = await startReceiver((_n, req) => {
      const id = String(req.headers['webhook-id']);
      const n = seen.get(id) ?? 0;
      seen.set(id, n + 1);
      const answers = script.get(id);
      return answers === undefined ? 200 : (answers[Math.min(n, answers.length - 1)] ?? 200);
    });
  });
  afterAll(async () => {
    await receiver.close();
  });
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((node) => node.close()));
    errors.length = 0;
    attempts.length = 0;
    settled.length = 0;
  });

  function node(prefix: string, options: Partial<CreateQueueWebhookDispatcherOptions> = {}): QueueWebhookDispatcher {
    const index = nodes.length;
    const dispatcher = createQueueWebhookDispatcher({
      redis: redis().url,
      prefix,
      secret: SECRET,
      retryScheduleMs: [20, 20],
      onAttempt: (delivery, attempt) => attempts.push({ node: index, id: delivery.id, attempt }),
      onSettled: (delivery) => settled.push({ node: index, id: delivery.id, state: delivery.state }),
      onError: (err) => errors.push(err),
      ...options,
    });
    nodes.push(dispatcher);
    return dispatcher;
  }

  function requestsFor(id: string): ReceivedRequest[] {
    return receiver.requests.filter((r) => r.headers['webhook-id'] === id);
  }

  it('delivers a webhook handed to three nodes once, and 20 spread over them each once', async () => {
    const prefix = uniquePrefix('webhooks');
    const three = [node(prefix), node(prefix), node(prefix)];
    await Promise.all(three.map((n) => n.ready()));

    const shared = completedEvent();
    for (const n of three) n.deliver({ url: receiver.url, channelId: CHANNEL, projectId: 'p1', body: shared });
    const spread = Array.from({ length: 20 }, () => completedEvent());
    spread.forEach((event, i) =>
      three[i % 3]!.deliver({ url: receiver.url, channelId: CHANNEL, projectId: 'p1', secret: PROJECT_SECRET, body: event }),
    );

    expect(await Promise.all(three.map((n) => n.queued(shared.id)))).toEqual([true, true, true]);
    for (const event of [shared, ...spread]) await stateOf(three[0]!, event.id, 'delivered');
    expect(requestsFor(shared.id)).toHaveLength(1);
    expect(new Webhook(SECRET).verify(requestsFor(shared.id)[0]!.body, headersOf(requestsFor(shared.id)[0]!))).toEqual(shared);
    for (const event of spread) {
      const got = requestsFor(event.id);
      expect(got).toHaveLength(1);
      // Signed with the secret handed over with it, the exact bytes serialised at hand-over.
      expect(got[0]!.body).toBe(JSON.stringify(event));
      expect(new Webhook(PROJECT_SECRET).verify(got[0]!.body, headersOf(got[0]!))).toEqual(event);
    }
    expect(settled.filter((s) => s.state === 'delivered')).toHaveLength(21);
    expect(errors).toEqual([]);
  });

  it('retries a failing target on the schedule; every node sees every attempt', async () => {
    const prefix = uniquePrefix('webhooks');
    const [a, b] = [node(prefix), node(prefix)];
    const event = completedEvent();
    script.set(event.id, [500, 503, 200]);
    a!.deliver({ url: receiver.url, channelId: CHANNEL, body: event });

    const fromB = await stateOf(b!, event.id, 'delivered');
    expect(fromB.attempts.map((x) => [x.attempt, x.status])).toEqual([
      [1, 500],
      [2, 503],
      [3, 200],
    ]);
    expect((await a!.get(event.id))?.attempts).toEqual(fromB.attempts);
    expect(requestsFor(event.id)).toHaveLength(3);
    // Each attempt was reported once, by whichever node made it.
    expect(attempts.filter((x) => x.id === event.id).map((x) => x.attempt.attempt).sort()).toEqual([1, 2, 3]);
    await eventually(async () => settled.length === 1, 'onSettled');
    expect(settled.map((s) => [s.id, s.state])).toEqual([[event.id, 'delivered']]);
  });

  it('dead-letters after the schedule, lists it on another node per project, and replays it', async () => {
    const prefix = uniquePrefix('webhooks');
    const [a, b] = [node(prefix), node(prefix)];
    const mine = completedEvent();
    const theirs = completedEvent();
    script.set(mine.id, [500, 500, 500, 200]);
    script.set(theirs.id, [500]);
    a!.deliver({ url: receiver.url, channelId: CHANNEL, projectId: 'p1', body: mine });
    a!.deliver({ url: receiver.url, channelId: CHANNEL, projectId: 'p2', body: theirs });

    const dead = await eventually(async () => {
      const list = await b!.deadLetters('p1');
      return list.length === 1 ? list : undefined;
    }, 'a dead letter of p1');
    expect(dead.map((d) => [d.id, d.state, d.attempts.map((x) => x.status)])).toEqual([[mine.id, 'dead', [500, 500, 500]]]);
    expect(dead[0]).not.toHaveProperty('secret');
    await eventually(async () => (await b!.deadLetters()).length === 2, 'both dead letters');
    expect((await b!.deadLetters('p2')).map((d) => d.id)).toEqual([theirs.id]);
    expect(await b!.deadLetters('p3')).toEqual([]);
    expect(requestsFor(mine.id)).toHaveLength(3);
    // Settled once, as dead: the failures before the last were retries, not settlements.
    await eventually(async () => settled.filter((s) => s.id === mine.id).length > 0, 'onSettled');
    expect(settled.filter((s) => s.id === mine.id).map((s) => s.state)).toEqual(['dead']);

    expect(await b!.replay('evt_unknown')).toBeUndefined();
    const replayed = await b!.replay(mine.id);
    expect(replayed?.state).toBe('pending');
    const after = await stateOf(a!, mine.id, 'delivered');
    expect(after.attempts.map((x) => [x.attempt, x.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
      [4, 200],
    ]);
    expect((await a!.deadLetters('p1'))).toEqual([]);
    expect(requestsFor(mine.id)).toHaveLength(4);
  });

  it('a replay gets the whole schedule again before dying', async () => {
    const prefix = uniquePrefix('webhooks');
    const a = node(prefix);
    const event = completedEvent();
    script.set(event.id, [500]);
    a.deliver({ url: receiver.url, channelId: CHANNEL, body: event });
    await stateOf(a, event.id, 'dead');
    await a.replay(event.id);
    const again = await eventually(async () => {
      const d = await a.get(event.id);
      return d?.state === 'dead' && d.attempts.length > 3 ? d : undefined;
    }, 'dead again');
    expect(again.attempts.map((x) => x.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('dead-letters input that can never be sent at once, with one attempt saying why', async () => {
    const prefix = uniquePrefix('webhooks');
    const a = node(prefix, { retryScheduleMs: [10_000] });
    const event = completedEvent();
    const handed = a.deliver({ url: 'ftp://example.com/x', channelId: CHANNEL, projectId: 'p1', body: event });
    expect(handed).toMatchObject({ id: event.id, state: 'pending', attempts: [] });
    const dead = await stateOf(a, event.id, 'dead');
    expect(dead.attempts).toHaveLength(1);
    expect(dead.attempts[0]?.error).toMatch(/^invalid_delivery: url must be http\(s\)/);
    expect((await a.deadLetters('p1')).map((d) => d.id)).toEqual([event.id]);
  });

  it('survives a restart of every node: a pending retry is delivered once, dead letters stay', async () => {
    const prefix = uniquePrefix('webhooks');
    const first = [node(prefix, { retryScheduleMs: [200] }), node(prefix, { retryScheduleMs: [200] })];
    const doomed = completedEvent();
    script.set(doomed.id, [500]);
    first[0]!.deliver({ url: receiver.url, channelId: CHANNEL, projectId: 'p1', body: doomed });
    await stateOf(first[1]!, doomed.id, 'dead');

    const pending = completedEvent();
    script.set(pending.id, [500, 200]);
    first[1]!.deliver({ url: receiver.url, channelId: CHANNEL, body: pending });
    await eventually(async () => attempts.some((x) => x.id === pending.id), 'the first attempt');
    await Promise.all(nodes.splice(0).map((n) => n.close()));
    // Nobody is left to make the retry.
    expect(requestsFor(pending.id)).toHaveLength(1);

    const later = node(prefix, { retryScheduleMs: [200] });
    const done = await stateOf(later, pending.id, 'delivered');
    expect(done.attempts.map((x) => x.status)).toEqual([500, 200]);
    expect(requestsFor(pending.id).length).toBe(2);
    expect((await later.deadLetters('p1')).map((d) => d.id)).toEqual([doomed.id]);
    expect(errors).toEqual([]);
  });

  it('close() aborts an attempt in flight without using up a retry; the next node delivers it', async () => {
    const prefix = uniquePrefix('webhooks');
    // No retries at all: had the aborted attempt counted, the delivery would be dead.
    const a = node(prefix, { retryScheduleMs: [] });
    const event = completedEvent();
    script.set(event.id, ['hang', 200]);
    a.deliver({ url: receiver.url, channelId: CHANNEL, body: event });
    await eventually(async () => requestsFor(event.id).length === 1, 'the hanging request');
    await a.close();

    const b = node(prefix, { retryScheduleMs: [] });
    const done = await stateOf(b, event.id, 'delivered');
    expect(done.attempts.map((x) => [x.attempt, x.status, x.error])).toEqual([
      [1, undefined, 'dispatcher closed'],
      [2, 200, undefined],
    ]);
    expect(settled.map((s) => [s.id, s.state])).toEqual([[event.id, 'delivered']]);
  });

  it('keeps deliveries handed over while Redis is down and delivers them once it is back', async () => {
    const unhandled: unknown[] = [];
    const guard = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', guard);
    try {
      const prefix = uniquePrefix('webhooks');
      const [a, b] = [node(prefix, { retryScheduleMs: [300] }), node(prefix, { retryScheduleMs: [300] })];
      await Promise.all([a!.ready(), b!.ready()]);
      // One waits in Redis for its retry when Redis goes away.
      const retrying = completedEvent();
      script.set(retrying.id, [500, 200]);
      a!.deliver({ url: receiver.url, channelId: CHANNEL, body: retrying });
      await eventually(async () => attempts.some((x) => x.id === retrying.id), 'the first attempt');

      await redis().kill();
      const during = [completedEvent(), completedEvent(), completedEvent()];
      during.forEach((event, i) => [a, b][i % 2]!.deliver({ url: receiver.url, channelId: CHANNEL, projectId: 'p1', body: event }));
      // `queued` waits for Redis: a runner keeps its request's lease until then.
      const inRedis: boolean[] = [];
      const queued = Promise.all(during.map((event, i) => [a, b][i % 2]!.queued(event.id).then((ok) => (inRedis.push(ok), ok))));
      // This node knows what it holds; what only Redis knows is unavailable.
      expect((await a!.get(during[0]!.id))?.state).toBe('pending');
      await expect(a!.deadLetters('p1')).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
      await expect(b!.get(retrying.id)).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
      await eventually(async () => errors.length > 0, 'the failed enqueue to be reported');
      expect(inRedis).toEqual([]);
      await redis().start();
      expect(await queued).toEqual([true, true, true]);

      for (const event of [retrying, ...during]) await stateOf(b!, event.id, 'delivered');
      for (const event of during) expect(requestsFor(event.id)).toHaveLength(1);
      expect(requestsFor(retrying.id)).toHaveLength(2);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', guard);
    }
  });

  it('ready() gives up on a server that never answers, with store_unavailable', async () => {
    // Accepts connections and says nothing: BullMQ alone would wait for it forever.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const a = node(uniquePrefix('webhooks'), { redis: `redis://127.0.0.1:${port}`, readyTimeoutMs: 200, closeTimeoutMs: 200 });
      await expect(a.ready()).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    } finally {
      await Promise.all(nodes.splice(0).map((n) => n.close()));
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('close() does not hang while Redis is down, and reports what never reached it', async () => {
    const unhandled: unknown[] = [];
    const guard = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', guard);
    try {
      const a = node(uniquePrefix('webhooks'), { closeTimeoutMs: 300 });
      await a.ready();
      await redis().kill();
      const event = completedEvent();
      a.deliver({ url: receiver.url, channelId: CHANNEL, body: event });
      const queued = a.queued(event.id);
      await a.close();
      expect(errors.map(String)).toContainEqual(expect.stringContaining(`webhook ${event.id} lost`));
      // Never in Redis: the runner leaves the request to the node that takes it over, which sends it.
      expect(await queued).toBe(false);
      const late = completedEvent();
      a.deliver({ url: receiver.url, channelId: CHANNEL, body: late });
      expect(await a.queued(late.id)).toBe(false);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', guard);
      await redis().start();
    }
  });
});
