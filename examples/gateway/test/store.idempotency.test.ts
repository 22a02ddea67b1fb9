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
 * one and runs it (oldest first), `pending()` counts those set and not yet fired or cleared.
 */
function manualTimers() {
  const due = new Map<TimerHandle, () => void>();
  let wake: (() => void) | null = null;
  const timers: Timers = {
    setTimeout(callback) {
      const handle = {} as TimerHandle;
      due.set(handle, callback);
      wake?.();
      return handle;
    },
    clearTimeout(handle) {
      due.delete(handle);
    },
  };
  async function scheduled(): Promise<void> {
    while (due.size === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
  }
  async function fire(): Promise<void> {
    await scheduled();
    const [handle, callback] = due.entries().next().value as [TimerHandle, () => void];
    due.delete(handle);
    callback();
  }
  return { timers, fire, scheduled, pending: () => due.size };
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
    // Its refresh timer never fires: the node is gone.
    const dead = createRedisIdempotency({ redis: c, prefix, ttlMs: TTL_MS, claimTtlMs: 30_000, timers: manualTimers().timers });
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

  it('keeps a claim alive while its call runs longer than claimTtlMs: a concurrent retry gets its answer', async () => {
    // Redis expires keys on its own clock, so Redis time has to pass here: each step waits until
    // Redis has expired a probe key (a condition, not a fixed sleep). STEPS * STEP_MS > CLAIM_MS,
    // and the owner refreshes every step, so its claim always has CLAIM_MS - STEP_MS to spare.
    const CLAIM_MS = 1_200;
    const STEP_MS = 300;
    const STEPS = 6;
    const c = await client();
    const owner = manualTimers();
    const retrier = manualTimers();
    const a = createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, claimTtlMs: CLAIM_MS, timers: owner.timers });
    const b = createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, claimTtlMs: CLAIM_MS, pollMs: 10, timers: retrier.timers });
    const gate = deferred<StoredAnswer>();
    const started = deferred<void>();
    const ranAgain = deferred<void>();
    let runs = 0;
    const execute = (): Promise<StoredAnswer> => {
      runs++;
      (runs === 1 ? started : ranAgain).resolve();
      return gate.promise;
    };

    const first = a.run('k1 sync', 'long', body('{}'), execute);
    await started.promise;
    const retry = b.run('k1 sync', 'long', body('{}'), execute);
    await Promise.race([retrier.scheduled(), retry]); // the retry found the claim and waits
    for (let step = 0; step < STEPS && runs === 1; step++) {
      await redisTimePasses(c, `${prefix}probe`, STEP_MS);
      if (owner.pending() > 0) {
        await owner.fire();
        await owner.scheduled(); // the refresh ran and the next one is due
      }
      await retrier.fire();
      await Promise.race([retrier.scheduled(), retry, ranAgain.promise]);
    }
    expect(runs).toBe(1);

    const answer: StoredAnswer = { status: 200, body: { content: 'slow but once' } };
    gate.resolve(answer);
    await expect(first).resolves.toEqual({ answer, replayed: false });
    await retrier.fire();
    await expect(retry).resolves.toEqual({ answer, replayed: true });
    expect(runs).toBe(1);
  });

  it('lets a dead owner\'s claim lapse once it stops being refreshed: a retry then claims and runs', async () => {
    const c = await client();
    const retrier = manualTimers();
    const b = createRedisIdempotency({ redis: c, prefix, ttlMs: TTL_MS, claimTtlMs: 30_000, pollMs: 10, timers: retrier.timers });
    const key = recordKey(prefix, 'k1 sync', 'dead-owner');
    // Another node's live claim…
    await c.set(key, pendingMarker(body('{}'), 'dead-node'), 'PX', 60_000);
    const gen = generations();
    const retry = b.run('k1 sync', 'dead-owner', body('{}'), gen.execute);
    await Promise.race([retrier.scheduled(), retry]);
    expect(gen.count()).toBe(0);
    // …whose node died right after its last refresh: nobody pushes the expiry back again.
    await c.pexpire(key, 100);
    await until(async () => (await c.exists(key)) === 0);
    await retrier.fire();
    await expect(retry).resolves.toMatchObject({ replayed: false, answer: { body: { channel_id: 'ch-1' } } });
    expect(gen.count()).toBe(1);
  });

  it('refreshes only its own claim, pushing its expiry back to claimTtlMs', async () => {
    const redisOfA = await client();
    const c = await client();
    const owner = manualTimers();
    const a = createRedisIdempotency({ redis: redisOfA, prefix, ttlMs: TTL_MS, claimTtlMs: 30_000, timers: owner.timers });
    const gate = deferred<StoredAnswer>();
    const started = deferred<void>();
    void a.run('k1 sync', 'refresh', body('{}'), () => {
      started.resolve();
      return gate.promise;
    });
    await started.promise;
    const key = recordKey(prefix, 'k1 sync', 'refresh');
    await c.pexpire(key, 5_000);
    await owner.fire();
    await owner.scheduled();
    expect(await c.pttl(key)).toBeGreaterThan(5_000);
    expect(await c.pttl(key)).toBeLessThanOrEqual(30_000);

    // The claim lapsed and another caller holds the key now: a refresh leaves it alone and stops.
    await c.set(key, pendingMarker(body('{}'), 'someone-else'), 'PX', 5_000);
    await owner.fire();
    await redisOfA.ping(); // replies come in order: the refresh has answered
    expect(await c.pttl(key)).toBeLessThanOrEqual(5_000);
    expect(owner.pending()).toBe(0);
    gate.resolve({ status: 200, body: {} });
  });

  it('stops refreshing its claim once the call settles, answered or failed', async () => {
    const owner = manualTimers();
    const a = createRedisIdempotency({ redis: await client(), prefix, ttlMs: TTL_MS, claimTtlMs: 30_000, timers: owner.timers });
    for (const outcome of ['answers', 'fails'] as const) {
      const gate = deferred<StoredAnswer>();
      const started = deferred<void>();
      const run = a.run('k1 sync', `settle-${outcome}`, body('{}'), () => {
        started.resolve();
        return gate.promise;
      });
      await started.promise;
      expect(owner.pending()).toBe(1);
      // A refresh still in flight when the call settles must not schedule another one.
      await owner.fire();
      if (outcome === 'answers') gate.resolve({ status: 200, body: { content: 'done' } });
      else gate.reject(new GatewayError(502, 'provider_error', 'upstream failed'));
      await run.catch(() => undefined);
      expect(owner.pending()).toBe(0);
    }
  });

  it('keeps waiting while the claim lives, however many polls that takes', async () => {
    const c = await client();
    const manual = manualTimers();
    // With claimTtlMs / pollMs = 3, a capped waiter would give up after a handful of polls.
    const store = createRedisIdempotency({ redis: c, prefix, ttlMs: TTL_MS, pollMs: 100, claimTtlMs: 300, timers: manual.timers });
    const key = recordKey(prefix, 'k1 sync', 'long-wait');
    await c.set(key, pendingMarker(body('{}'), 'other-node'), 'PX', 60_000); // refreshed by its (live) owner
    const gen = generations();
    let outcome: unknown = 'waiting';
    const waiting = store.run('k1 sync', 'long-wait', body('{}'), gen.execute);
    const settled = waiting.then(
      () => (outcome = 'resolved'),
      (err: unknown) => (outcome = err),
    );
    for (let polls = 0; polls < 20 && outcome === 'waiting'; polls++) await Promise.race([manual.fire(), settled]);
    await Promise.race([manual.scheduled(), settled]);
    expect(outcome).toBe('waiting');

    const answer: StoredAnswer = { status: 200, body: { content: 'late' } };
    await c.set(key, JSON.stringify({ state: 'done', fingerprint: bodyFingerprint(body('{}')), answer }), 'PX', TTL_MS);
    await manual.fire();
    await expect(waiting).resolves.toEqual({ answer, replayed: true });
    expect(gen.count()).toBe(0);
  });

  it('answers 503 at once for a pending record that can never lapse (no expiry)', async () => {
    const c = await client();
    const manual = manualTimers();
    const store = createRedisIdempotency({ redis: c, prefix, ttlMs: TTL_MS, pollMs: 100, claimTtlMs: 300, timers: manual.timers });
    // No gateway writes a claim without an expiry (say, set by hand): waiting on it would never end.
    await c.set(recordKey(prefix, 'k1 sync', 'stuck'), pendingMarker(body('{}'), 'other-node'));
    const gen = generations();
    await expect(store.run('k1 sync', 'stuck', body('{}'), gen.execute)).rejects.toMatchObject({
      status: 503,
      code: 'store_unavailable',
    });
    expect(manual.pending()).toBe(0);
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

  it('skips a refresh that fails while Redis is down and keeps the next one due', async () => {
    const c = await connectRedis(redis().url, 'store.idempotency.outage-refresh');
    const owner = manualTimers();
    const store = createRedisIdempotency({ redis: c, prefix: uniquePrefix('idem-outage'), ttlMs: TTL_MS, claimTtlMs: 30_000, timers: owner.timers });
    try {
      const gate = deferred<StoredAnswer>();
      const started = deferred<void>();
      const run = store.run('k1 sync', 'refresh-down', body('{}'), () => {
        started.resolve();
        return gate.promise;
      });
      await started.promise;
      await redis().kill();
      await owner.fire(); // fails: Redis is away
      await owner.scheduled(); // and the next refresh is due all the same
      await redis().start();
      if (c.status !== 'ready') await new Promise<void>((resolve) => c.once('ready', () => resolve()));
      const answer: StoredAnswer = { status: 200, body: { content: 'after the outage' } };
      gate.resolve(answer);
      await expect(run).resolves.toEqual({ answer, replayed: false });
      expect(owner.pending()).toBe(0);
    } finally {
      c.disconnect();
    }
  });
});

/** The Redis key of (scope, Idempotency-Key) under `prefix`, as the store names it. */
function recordKey(prefix: string, scope: string, key: string): string {
  return `${prefix}idem:${createHash('sha256').update(`${scope}\u0000${key}`).digest('hex')}`;
}

/** A pending claim for `requestBody`, as another node would have written it. */
function pendingMarker(requestBody: Buffer, claim: string): string {
  return JSON.stringify({ state: 'pending', fingerprint: bodyFingerprint(requestBody), claim });
}

/** Resolves once `check` holds, looking again every few milliseconds (a condition, not a deadline). */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise<void>((resolve) => setTimeout(resolve, 10));
}

/** Resolves once at least `ms` of Redis's own clock has passed: it has expired a key set to live `ms`. */
async function redisTimePasses(c: RedisClient, probe: string, ms: number): Promise<void> {
  await c.set(probe, '1', 'PX', ms);
  await until(async () => (await c.exists(probe)) === 0);
}

/** The keys matching `pattern`, once a command in flight has written them. */
async function waitForKeys(c: RedisClient, pattern: string): Promise<string[]> {
  for (;;) {
    const found = await c.keys(pattern);
    if (found.length > 0) return found;
  }
}
