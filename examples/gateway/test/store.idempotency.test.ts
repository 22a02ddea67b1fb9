/**
 * Idempotency behind the IdempotencyStore seam: the same cases against memory and Redis, then
 * what only a shared store must do (two gateways, one generation; a dead node's claim; outages).
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../src/errors.js';
import { bodyFingerprint, IdempotencyCache, type IdempotencyStore, type StoredAnswer } from '../src/http/idempotency.js';
import { connectRedis, type RedisClient } from '../src/store/redis.js';
import { createRedisIdempotency } from '../src/store/redis-idempotency.js';
import type { TimerHandle, Timers } from '../src/timers.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

const TTL_MS = 60_000;
const body = (text: string) => Buffer.from(text);

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Timers the test fires by hand: `scheduled()` waits until a callback is due, `fire()` waits for
 * one and runs it.
 */
function manualTimers() {
  const due: Array<() => void> = [];
  let wake: (() => void) | null = null;
  const timers: Timers = {
    setTimeout(callback) {
      due.push(callback);
      wake?.();
      return {} as TimerHandle;
    },
    clearTimeout() {},
  };
  async function scheduled(): Promise<void> {
    while (due.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
  }
  async function fire(): Promise<void> {
    await scheduled();
    due.shift()?.();
  }
  return { timers, fire, scheduled };
}

/** A counter of generations: what must happen once per key. */
function generations(answerOf: (n: number) => StoredAnswer = (n) => ({ status: 202, body: { channel_id: `ch-${n}` } })) {
  let count = 0;
  const execute = async (): Promise<StoredAnswer> => answerOf(++count);
  return { execute, count: () => count };
}

/** Cases every implementation must pass. */
function sharedCases(make: () => Promise<IdempotencyStore>): void {
  it('runs every call without a key', async () => {
    const store = await make();
    const gen = generations();
    await store.run('k1 async', undefined, body('{}'), gen.execute);
    await store.run('k1 async', undefined, body('{}'), gen.execute);
    expect(gen.count()).toBe(2);
  });

  it('runs once per key and replays the answer to a retry with the same body', async () => {
    const store = await make();
    const gen = generations();
    const first = await store.run('k1 async', 'key-1', body('{"a":1}'), gen.execute);
    const again = await store.run('k1 async', 'key-1', body('{"a":1}'), gen.execute);
    expect(first).toEqual({ answer: { status: 202, body: { channel_id: 'ch-1' } }, replayed: false });
    expect(again).toEqual({ answer: { status: 202, body: { channel_id: 'ch-1' } }, replayed: true });
    expect(gen.count()).toBe(1);
  });

  it('makes a concurrent call with the same key wait for the first one\'s answer', async () => {
    const store = await make();
    const gate = deferred<StoredAnswer>();
    let runs = 0;
    const execute = (): Promise<StoredAnswer> => {
      runs++;
      return gate.promise;
    };
    const first = store.run('k1 sync', 'key-2', body('{}'), execute);
    const second = store.run('k1 sync', 'key-2', body('{}'), execute);
    gate.resolve({ status: 200, body: { content: 'hi' } });
    expect(await first).toEqual({ answer: { status: 200, body: { content: 'hi' } }, replayed: false });
    expect(await second).toEqual({ answer: { status: 200, body: { content: 'hi' } }, replayed: true });
    expect(runs).toBe(1);
  });

  it('refuses the same key with a different body (422 idempotency_key_reused)', async () => {
    const store = await make();
    const gen = generations();
    await store.run('k1 async', 'key-3', body('{"a":1}'), gen.execute);
    await expect(store.run('k1 async', 'key-3', body('{"a":2}'), gen.execute)).rejects.toMatchObject({
      status: 422,
      code: 'idempotency_key_reused',
    });
    expect(gen.count()).toBe(1);
  });

  it('forgets a failed call, so a retry runs again', async () => {
    const store = await make();
    const boom = new GatewayError(404, 'workflow_not_found', 'nope');
    await expect(store.run('k1 async', 'key-4', body('{}'), () => Promise.reject(boom))).rejects.toBe(boom);
    const gen = generations();
    await expect(store.run('k1 async', 'key-4', body('{}'), gen.execute)).resolves.toMatchObject({ replayed: false });
    expect(gen.count()).toBe(1);
  });

  it('keeps scopes apart and checks the key\'s length', async () => {
    const store = await make();
    const gen = generations();
    await store.run('k1 async', 'key-5', body('{}'), gen.execute);
    await store.run('k2 async', 'key-5', body('{}'), gen.execute);
    expect(gen.count()).toBe(2);
    for (const bad of ['', 'x'.repeat(256)]) {
      await expect(store.run('k1 async', bad, body('{}'), gen.execute)).rejects.toMatchObject({ status: 400, code: 'invalid_field' });
    }
  });
}

describe('IdempotencyCache (memory)', () => {
  sharedCases(async () => new IdempotencyCache(TTL_MS, Date.now));
});

describeWithRedis('Redis idempotency', (redis) => {
  const clients: RedisClient[] = [];
  let prefix = uniquePrefix('idem');

  async function client(): Promise<RedisClient> {
    const c = await connectRedis(redis().url, 'store.idempotency.test');
    clients.push(c);
    return c;
  }

  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
    prefix = uniquePrefix('idem');
  });

  sharedCases(async () => createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, pollMs: 5 }));

  it('starts ONE generation when two gateways get the same key at once', async () => {
    const a = createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, pollMs: 5 });
    const b = createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, pollMs: 5 });
    const gate = deferred<StoredAnswer>();
    let runs = 0;
    const execute = (): Promise<StoredAnswer> => {
      runs++;
      return gate.promise;
    };
    const results = Promise.all([
      a.run('k1 async', 'same', body('{"p":1}'), execute),
      b.run('k1 async', 'same', body('{"p":1}'), execute),
      b.run('k1 async', 'same', body('{"p":1}'), execute),
    ]);
    gate.resolve({ status: 202, body: { channel_id: 'only-one' } });
    const answers = await results;
    expect(runs).toBe(1);
    expect(answers.map((r) => r.answer.body['channel_id'])).toEqual(['only-one', 'only-one', 'only-one']);
    expect(answers.filter((r) => !r.replayed)).toHaveLength(1);
  });

  it('keeps the answer ttlMs and lets a dead node\'s claim expire', async () => {
    const c = await client();
    const manual = manualTimers();
    const dead = createRedisIdempotency({ redis: c, prefix, ttlMs: TTL_MS, claimTtlMs: 30_000 });
    const alive = createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, claimTtlMs: 30_000, timers: manual.timers });
    // The dead node claimed the key and will never answer.
    void dead.run('k1 sync', 'orphan', body('{}'), () => new Promise<StoredAnswer>(() => {}));
    const [key] = await waitForKeys(c, `${prefix}idem:*`);
    const claimTtl = await c.pttl(key!);
    expect(claimTtl).toBeGreaterThan(0);
    expect(claimTtl).toBeLessThanOrEqual(30_000);

    const gen = generations();
    const waiting = alive.run('k1 sync', 'orphan', body('{}'), gen.execute);
    await manual.fire(); // still pending: it polls again
    await manual.scheduled();
    expect(gen.count()).toBe(0);
    await c.del(key!); // what the claim's expiry does
    await manual.fire();
    await expect(waiting).resolves.toMatchObject({ replayed: false, answer: { body: { channel_id: 'ch-1' } } });
    const answerTtl = await c.pttl(key!);
    expect(answerTtl).toBeGreaterThan(30_000);
    expect(answerTtl).toBeLessThanOrEqual(TTL_MS);
  });

  it('gives up waiting (503) once a claim outlives its own expiry', async () => {
    const c = await client();
    const manual = manualTimers();
    const store = createRedisIdempotency({ redis: c, prefix, ttlMs: TTL_MS, pollMs: 100, claimTtlMs: 300, timers: manual.timers });
    // Another node's claim that never expires (say, set by hand): the waiter must not wait forever.
    const key = `${prefix}idem:${createHash('sha256').update('k1 sync\u0000stuck').digest('hex')}`;
    await c.set(key, JSON.stringify({ state: 'pending', fingerprint: bodyFingerprint(body('{}')), claim: 'other-node' }));
    const gen = generations();
    let outcome: unknown = 'waiting';
    const stuck = store.run('k1 sync', 'stuck', body('{}'), gen.execute).then(
      () => (outcome = 'resolved'),
      (err: unknown) => (outcome = err),
    );
    let polls = 0;
    while (outcome === 'waiting') {
      await Promise.race([manual.fire(), stuck]);
      polls++;
    }
    expect(outcome).toMatchObject({ status: 503, code: 'store_unavailable' });
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(gen.count()).toBe(0);
  });
});

describeWithRedis('Redis idempotency while Redis is down', (redis) => {
  it('answers 503 store_unavailable, then works again without a new store', async () => {
    const c = await connectRedis(redis().url, 'store.idempotency.outage');
    const store = createRedisIdempotency({ redis: c, prefix: uniquePrefix('idem-outage'), ttlMs: TTL_MS, pollMs: 5 });
    try {
      await redis().kill();
      const gen = generations();
      await expect(store.run('k1 async', 'down', body('{}'), gen.execute)).rejects.toMatchObject({
        status: 503,
        code: 'store_unavailable',
      });
      expect(gen.count()).toBe(0);
      await redis().start();
      if (c.status !== 'ready') await new Promise<void>((resolve) => c.once('ready', () => resolve()));
      await expect(store.run('k1 async', 'down', body('{}'), gen.execute)).resolves.toMatchObject({ replayed: false });
    } finally {
      c.disconnect();
    }
  });
});

/** The keys matching `pattern`, once a command in flight has written them. */
async function waitForKeys(c: RedisClient, pattern: string): Promise<string[]> {
  for (;;) {
    const found = await c.keys(pattern);
    if (found.length > 0) return found;
  }
}
