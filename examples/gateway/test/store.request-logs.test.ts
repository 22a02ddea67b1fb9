/**
 * Request logs behind the RequestLogStore seam: the same cases against memory and Redis, then
 * what only a shared store does (another node reads the log, webhook progress from another node,
 * expiry in Redis, a Redis outage).
 */
import { randomUUID } from 'node:crypto';
import type { WebhookAttemptLog } from '@modelriver/node';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { RequestStore, type RequestLogStore } from '../src/runner/request-store.js';
import { connectRedis, type RedisClient } from '../src/store/redis.js';
import { createRedisRequestLogs } from '../src/store/redis-request-logs.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

const START = Date.parse('2030-01-01T00:00:00.000Z');
const RETENTION_MS = 60_000;

/** A clock the test moves by hand. */
function clock(start = START) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const attempt = (n: number, at: number, status = 500): WebhookAttemptLog => ({
  attempt: n,
  at: new Date(at).toISOString(),
  status,
  duration_ms: 7,
});

interface Impl {
  name: string;
  /** A fresh store on the given clock; a second call (Redis) shares the first's data. */
  make(now: () => number): Promise<RequestLogStore>;
}

/** Cases every implementation must pass. */
function sharedCases(impl: () => Impl): void {
  it('reads back a created record with its project, following every change', async () => {
    const time = clock();
    const store = await impl().make(time.now);
    const id = randomUUID();
    const record = store.create(id, 'chat', 'async', { order: 7 }, 'proj_a');
    time.advance(5);
    record.provider = 'mock';
    record.setStatus('processing', { provider: 'mock' });
    record.setResponseBody('hello', { ok: true });
    record.setStatus('success');
    await store.flush();

    const log = await store.read(id);
    expect(log).toMatchObject({
      channel_id: id,
      project_id: 'proj_a',
      workflow: 'chat',
      mode: 'async',
      status: 'success',
      provider: 'mock',
      content: 'hello',
      data: { ok: true },
      customer_data: { order: 7 },
      created_at: new Date(START).toISOString(),
      finished_at: new Date(START + 5).toISOString(),
    });
    expect(log?.timeline.map((e) => e.event)).toEqual(['status:processing', 'status:success']);
  });

  it('says undefined for an unknown channel', async () => {
    const store = await impl().make(clock().now);
    await expect(store.read(randomUUID())).resolves.toBeUndefined();
  });

  it('records webhook attempts and states reported through the store', async () => {
    const time = clock();
    const store = await impl().make(time.now);
    const id = randomUUID();
    const record = store.create(id, 'chat', 'async', {}, 'proj_a');
    record.setStatus('success');
    record.addWebhook('evt_1', 'task.completed', 'https://hooks.test/x');
    time.advance(10);
    store.webhookAttempt(id, 'evt_1', attempt(1, time.now(), 500));
    time.advance(10);
    store.webhookAttempt(id, 'evt_1', attempt(2, time.now(), 200));
    store.webhookState(id, 'evt_1', 'delivered');
    await store.flush();

    const log = await store.read(id);
    expect(log?.webhooks).toEqual([
      {
        id: 'evt_1',
        type: 'task.completed',
        url: 'https://hooks.test/x',
        state: 'delivered',
        attempts: [attempt(1, START + 10, 500), attempt(2, START + 20, 200)],
      },
    ]);
    expect(log?.timeline.map((e) => [e.event, e['attempt'] ?? null])).toEqual([
      ['status:success', null],
      ['webhook_queued', null],
      ['webhook_attempt', 1],
      ['webhook_attempt', 2],
      ['webhook_delivered', null],
    ]);
  });

  it('adopts a saved log: the rebuilt record continues it', async () => {
    const time = clock();
    const first = await impl().make(time.now);
    const id = randomUUID();
    const record = first.create(id, 'chat', 'sync', { a: 1 }, 'proj_a');
    record.setStatus('processing');
    record.ttftMs = 42;
    record.note('first_token', { ttft_ms: 42 });
    await first.flush();
    const saved = await first.read(id);
    if (!saved) throw new Error('the log was not saved');

    const second = await impl().make(time.now);
    const adopted = second.adopt(saved);
    expect(adopted.toStored()).toEqual(saved);
    time.advance(100);
    adopted.setStatus('success');
    await second.flush();

    const log = await second.read(id);
    expect(log).toMatchObject({ status: 'success', ttft_ms: 42, mode: 'sync', project_id: 'proj_a', customer_data: { a: 1 } });
    expect(log?.timeline.map((e) => e.event)).toEqual(['status:processing', 'first_token', 'status:success']);
  });
}

describe('RequestStore (memory)', () => {
  sharedCases(() => {
    // Adoption in memory happens on another store: only the log carries over, as with Redis.
    return { name: 'memory', make: async (now) => new RequestStore(RETENTION_MS, now) };
  });

  it('drops a finished record after the retention, not while a webhook is pending', async () => {
    const time = clock();
    const store = new RequestStore(RETENTION_MS, time.now);
    const id = randomUUID();
    const record = store.create(id, 'chat', 'async', {}, 'proj_a');
    record.setStatus('success');
    record.addWebhook('evt_1', 'task.completed', 'https://hooks.test/x');
    time.advance(RETENTION_MS + 1);
    await expect(store.read(id)).resolves.toBeDefined();
    store.webhookState(id, 'evt_1', 'delivered');
    time.advance(1_000);
    await expect(store.read(id)).resolves.toBeUndefined();
    expect(store.size).toBe(0);
  });
});

describeWithRedis('Redis request logs', (redis) => {
  const clients: RedisClient[] = [];
  const stores: RequestLogStore[] = [];
  let prefix = uniquePrefix('logs');
  const errors: unknown[] = [];

  async function client(): Promise<RedisClient> {
    const c = await connectRedis(redis().url, 'store.request-logs.test');
    clients.push(c);
    return c;
  }

  async function make(now: () => number): Promise<RequestLogStore> {
    const store = createRedisRequestLogs({ redis: await client(), prefix, retentionMs: RETENTION_MS, now, onError: (err) => errors.push(err) });
    stores.push(store);
    return store;
  }

  const keys = (id: string) => [`${prefix}req:{${id}}`, `${prefix}req:{${id}}:hooks`, `${prefix}req:{${id}}:timeline`] as const;

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const c of clients.splice(0)) c.disconnect();
    prefix = uniquePrefix('logs');
    expect(errors.splice(0)).toEqual([]);
  });

  sharedCases(() => ({ name: 'redis', make }));

  it('lets a second store (another gateway) read the first one\'s log', async () => {
    const time = clock();
    const owner = await make(time.now);
    const other = await make(time.now);
    const id = randomUUID();
    const record = owner.create(id, 'chat', 'async', { k: 'v' }, 'proj_b');
    record.setStatus('processing');
    await owner.flush();
    expect(await other.read(id)).toEqual(record.toStored());
    record.setStatus('success');
    await owner.flush();
    expect((await other.read(id))?.status).toBe('success');
    expect(other.size).toBe(0);
  });

  it('merges webhook progress reported by another store, timeline in time order', async () => {
    const ownerTime = clock();
    const deliveryTime = clock(START + 3);
    const owner = await make(ownerTime.now);
    const deliverer = await make(deliveryTime.now);
    const id = randomUUID();
    const record = owner.create(id, 'chat', 'async', {}, 'proj_a');
    record.setStatus('success');
    record.addWebhook('evt_9', 'task.completed', 'https://hooks.test/y');
    await owner.flush();

    deliverer.webhookAttempt(id, 'evt_9', attempt(1, deliveryTime.now(), 503));
    deliveryTime.advance(10);
    deliverer.webhookAttempt(id, 'evt_9', attempt(2, deliveryTime.now(), 200));
    deliverer.webhookState(id, 'evt_9', 'delivered');
    await deliverer.flush();
    // The owner writes again after the other node's reports: its entries stay between them in time.
    ownerTime.advance(5);
    record.note('late_note');
    await owner.flush();

    for (const reader of [owner, deliverer]) {
      const log = await reader.read(id);
      expect(log?.webhooks[0]).toMatchObject({ id: 'evt_9', state: 'delivered', attempts: [attempt(1, START + 3, 503), attempt(2, START + 13, 200)] });
      expect(log?.timeline.map((e) => e.event)).toEqual([
        'status:success',
        'webhook_queued',
        'webhook_attempt',
        'late_note',
        'webhook_attempt',
        'webhook_delivered',
      ]);
    }
  });

  it('counts webhook progress once when a node adopts a log that already holds it', async () => {
    const time = clock();
    const dead = await make(time.now);
    const deliverer = await make(time.now);
    const id = randomUUID();
    const record = dead.create(id, 'chat', 'async', {}, 'proj_a');
    record.setStatus('success');
    record.addWebhook('evt_5', 'task.completed', 'https://hooks.test/v');
    await dead.flush();
    time.advance(1);
    deliverer.webhookAttempt(id, 'evt_5', attempt(1, time.now(), 500));
    await deliverer.flush();

    const saved = await deliverer.read(id);
    if (!saved) throw new Error('the log was not saved');
    const heir = await make(time.now);
    const adopted = heir.adopt(saved);
    time.advance(1);
    adopted.note('resumed');
    await heir.flush();
    time.advance(1);
    deliverer.webhookAttempt(id, 'evt_5', attempt(2, time.now(), 200));
    await deliverer.flush();

    const log = await deliverer.read(id);
    expect(log?.webhooks[0]?.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(log?.timeline.map((e) => e.event)).toEqual(['status:success', 'webhook_queued', 'webhook_attempt', 'resumed', 'webhook_attempt']);
  });

  it('keeps a running request forever and expires a finished one after the retention', async () => {
    const time = clock();
    const store = await make(time.now);
    const c = await client();
    const id = randomUUID();
    const record = store.create(id, 'chat', 'async', {}, 'proj_a');
    record.setStatus('processing');
    await store.flush();
    expect(await c.pttl(keys(id)[0])).toBe(-1);

    time.advance(1_000);
    record.setStatus('success');
    await store.flush();
    const ttl = await c.pttl(keys(id)[0]);
    expect(ttl).toBeGreaterThan(RETENTION_MS - 5_000);
    expect(ttl).toBeLessThanOrEqual(RETENTION_MS);
    // Nothing of a finished, saved request stays in this node's memory.
    expect(store.size).toBe(0);
  });

  it('never expires while a webhook is pending, then expires all keys once it settles', async () => {
    const time = clock();
    const owner = await make(time.now);
    const deliverer = await make(time.now);
    const c = await client();
    const id = randomUUID();
    const record = owner.create(id, 'chat', 'async', {}, 'proj_a');
    record.setStatus('error');
    record.addWebhook('evt_2', 'task.failed', 'https://hooks.test/z');
    await owner.flush();
    expect(await c.pttl(keys(id)[0])).toBe(-1);

    deliverer.webhookAttempt(id, 'evt_2', attempt(1, time.now(), 500));
    await deliverer.flush();
    for (const key of keys(id)) expect(await c.pttl(key)).toBe(-1);

    deliverer.webhookState(id, 'evt_2', 'dead');
    await deliverer.flush();
    for (const key of keys(id)) expect(await c.pttl(key)).toBeGreaterThan(0);

    // A replay makes it pending again: kept until it settles again.
    deliverer.webhookState(id, 'evt_2', 'pending');
    await deliverer.flush();
    for (const key of keys(id)) expect(await c.pttl(key)).toBe(-1);
    expect((await owner.read(id))?.webhooks[0]?.state).toBe('pending');
  });

  it('does not undo a settled webhook\'s expiry when the owner saves after the delivery', async () => {
    const time = clock();
    const owner = await make(time.now);
    const deliverer = await make(time.now);
    const c = await client();
    const id = randomUUID();
    const record = owner.create(id, 'chat', 'async', {}, 'proj_a');
    await owner.flush();
    // The delivery settles before the owner's save of the finished record has reached Redis.
    deliverer.webhookState(id, 'evt_3', 'delivered');
    await deliverer.flush();
    record.setStatus('success');
    record.addWebhook('evt_3', 'task.completed', 'https://hooks.test/w');
    await owner.flush();
    for (const key of keys(id)) expect(await c.pttl(key)).toBeGreaterThan(0);
    expect((await owner.read(id))?.webhooks[0]?.state).toBe('delivered');
  });

  it('leaves nothing for good when progress is reported about an unknown log', async () => {
    const store = await make(clock().now);
    const c = await client();
    const id = randomUUID();
    store.webhookAttempt(id, 'evt_4', attempt(1, START));
    await store.flush();
    for (const key of keys(id).slice(1)) expect(await c.pttl(key)).toBeGreaterThan(0);
    await expect(store.read(id)).resolves.toBeUndefined();
  });
});

describeWithRedis('Redis request logs while Redis is down', (redis) => {
  it('rejects reads with 503 store_unavailable, reports failed saves, and recovers without a new store', async () => {
    const errors: unknown[] = [];
    const c = await connectRedis(redis().url, 'store.request-logs.outage');
    const prefix = uniquePrefix('logs-outage');
    const store = createRedisRequestLogs({ redis: c, prefix, retentionMs: RETENTION_MS, now: clock().now, onError: (err) => errors.push(err) });
    try {
      const id = randomUUID();
      const record = store.create(id, 'chat', 'async', {}, 'proj_a');
      await store.flush();

      await redis().kill();
      const failure = await store.read(id).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).toBeInstanceOf(GatewayError);
      expect(failure).toMatchObject({ status: 503, code: 'store_unavailable', headers: { 'retry-after': '1' } });
      // A change made during the outage: reported, not thrown into the runner, kept for a retry.
      expect(() => record.setStatus('success')).not.toThrow();
      await expect(store.flush()).rejects.toMatchObject({ code: 'store_unavailable' });
      expect(errors.length).toBeGreaterThan(0);

      await redis().start();
      await waitUntilReady(c);
      await store.flush();
      expect((await store.read(id))?.status).toBe('success');
      expect(store.size).toBe(0);
    } finally {
      await store.close();
      c.disconnect();
    }
  });
});

/** ioredis reconnects by itself; wait for it (event-driven, no sleeps). */
async function waitUntilReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
}

