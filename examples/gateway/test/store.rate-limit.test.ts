/**
 * Rate limiting behind the RateLimitStore seam: the same cases against memory and Redis, then
 * what only a shared bucket does (two gateways, one bucket; idle buckets vanish; outages answer
 * 503 through the API).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createApiHandler } from '../src/http/api.js';
import { RateLimiter, type RateLimitStore } from '../src/http/rate-limit.js';
import type { Routes } from '../src/http/routes.js';
import { quietLogger } from '../src/logger.js';
import type { Project, ProjectDirectory } from '../src/projects.js';
import { connectRedis, type RedisClient } from '../src/store/redis.js';
import { createRedisRateLimiter } from '../src/store/redis-rate-limit.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

function clock(start = Date.parse('2030-01-01T00:00:00.000Z')) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

type Make = (capacity: number, refillPerSecond: number, now: () => number) => Promise<RateLimitStore>;

async function takeMany(limiter: RateLimitStore, key: string, n: number): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) out.push((await limiter.take(key)).ok);
  return out;
}

/** Cases every implementation must pass. */
function sharedCases(make: () => Make): void {
  it('allows a burst of `capacity`, then refuses with whole seconds to wait', async () => {
    const time = clock();
    const limiter = await make()(3, 1, time.now);
    expect(await takeMany(limiter, 'key-a', 3)).toEqual([true, true, true]);
    await expect(limiter.take('key-a')).resolves.toEqual({ ok: false, retryAfterSeconds: 1 });
  });

  it('refills over time, never above capacity', async () => {
    const time = clock();
    const limiter = await make()(2, 2, time.now);
    expect(await takeMany(limiter, 'key-a', 3)).toEqual([true, true, false]);
    time.advance(500); // one token back
    expect(await takeMany(limiter, 'key-a', 2)).toEqual([true, false]);
    time.advance(60_000); // full again, not 120 tokens
    expect(await takeMany(limiter, 'key-a', 3)).toEqual([true, true, false]);
  });

  it('rounds the wait up and keeps keys apart', async () => {
    const time = clock();
    const limiter = await make()(1, 0.25, time.now);
    expect((await limiter.take('key-a')).ok).toBe(true);
    await expect(limiter.take('key-a')).resolves.toEqual({ ok: false, retryAfterSeconds: 4 });
    time.advance(1_000);
    await expect(limiter.take('key-a')).resolves.toEqual({ ok: false, retryAfterSeconds: 3 });
    expect((await limiter.take('key-b')).ok).toBe(true);
  });
}

describe('RateLimiter (memory)', () => {
  sharedCases(() => async (capacity, refill, now) => new RateLimiter(capacity, refill, now));
});

describeWithRedis('Redis rate limiter', (redis) => {
  const clients: RedisClient[] = [];
  let prefix = uniquePrefix('rate');

  async function client(): Promise<RedisClient> {
    const c = await connectRedis(redis().url, 'store.rate-limit.test');
    clients.push(c);
    return c;
  }

  const make: Make = async (capacity, refillPerSecond, now) =>
    createRedisRateLimiter({ redis: await client(), prefix, capacity, refillPerSecond, now });

  afterEach(() => {
    for (const c of clients.splice(0)) c.disconnect();
    prefix = uniquePrefix('rate');
  });

  sharedCases(() => make);

  it('shares one bucket between two gateways', async () => {
    const time = clock();
    const a = await make(3, 1, time.now);
    const b = await make(3, 1, time.now);
    expect([(await a.take('key-a')).ok, (await b.take('key-a')).ok, (await a.take('key-a')).ok]).toEqual([true, true, true]);
    expect((await b.take('key-a')).ok).toBe(false);
    expect((await a.take('key-a')).ok).toBe(false);
  });

  it('lets an idle bucket vanish once it would be full again, and names it without the API key', async () => {
    const limiter = await make(10, 5, clock().now);
    await limiter.take('mr_live_secret');
    const c = await client();
    const keys = await c.keys(`${prefix}*`);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('mr_live_secret');
    const ttl = await c.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10 / 5 * 1000 + 1000);
  });
});

describeWithRedis('Redis rate limiter while Redis is down', (redis) => {
  const project: Project = { id: '00000000-0000-4000-8000-000000000001', name: 'p', apiKeys: ['mr_test_key'], webhookSecret: 'whsec_x' };
  const projects: ProjectDirectory = { defaultProject: project, all: [project], apiKeys: project.apiKeys, byKey: (k) => (k === 'mr_test_key' ? project : undefined) };
  const routes: Routes = { match: () => ({ kind: 'not_found' }) };
  let server: Server | undefined;
  let client: RedisClient | undefined;

  afterEach(async () => {
    client?.disconnect();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('answers 503 store_unavailable through the API, then limits again without a new limiter', async () => {
    client = await connectRedis(redis().url, 'store.rate-limit.outage');
    const limiter = createRedisRateLimiter({ redis: client, prefix: uniquePrefix('rate-outage'), capacity: 5, refillPerSecond: 1, now: Date.now });
    server = createServer(createApiHandler({ projects, bodyLimitBytes: 1024, limiter, routes, logger: quietLogger }));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/workflows`;
    const get = () => fetch(url, { headers: { authorization: 'Bearer mr_test_key' } });

    expect((await get()).status).toBe(404); // through the limiter to the (empty) routes
    await redis().kill();
    const down = await get();
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await down.json()).toMatchObject({ error: { code: 'store_unavailable' } });

    await redis().start();
    if (client.status !== 'ready') await new Promise<void>((resolve) => client!.once('ready', () => resolve()));
    expect((await get()).status).toBe(404);
  });
});
