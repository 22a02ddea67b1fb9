/**
 * The Redis test harness itself: when the Redis suites run, skip or fail, and that the server it
 * starts keeps written data across a SIGKILL and restart and leaves nothing behind.
 */
import { existsSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeWithRedis,
  findRedisServer,
  redisAvailability,
  startRedisServer,
  uniquePrefix,
  type RedisServer,
} from './redis.helpers.js';

describe('redisAvailability', () => {
  const missing = (): undefined => undefined;

  it('runs when redis-server is found, with the path it found', () => {
    expect(redisAvailability({ CI: 'true' }, () => '/opt/redis/bin/redis-server')).toEqual({
      run: true,
      executable: '/opt/redis/bin/redis-server',
    });
  });

  it('skips on a developer machine without redis-server, saying how to install it', () => {
    for (const env of [{}, { CI: '' }, { CI: 'false' }]) {
      const availability = redisAvailability(env, missing);
      expect(availability).toMatchObject({ run: false, fail: false });
      if (availability.run) throw new Error('expected a skip');
      expect(availability.reason).toContain('apt-get install -y redis-server');
      expect(availability.reason).toContain('.ci/run');
    }
  });

  it('fails under CI without redis-server', () => {
    for (const CI of ['true', '1']) {
      expect(redisAvailability({ CI }, missing)).toMatchObject({ run: false, fail: true });
    }
  });
});

describe('findRedisServer', () => {
  it('takes the first redis-server on PATH', () => {
    const found = findRedisServer({ PATH: ['/nope', '/a/bin', '/b/bin'].join(':') }, (path) => path.startsWith('/a/') || path.startsWith('/b/'));
    expect(found).toBe('/a/bin/redis-server');
  });

  it('falls back to /usr/bin/redis-server, and finds nothing when neither exists', () => {
    expect(findRedisServer({ PATH: '/nope' }, (path) => path === '/usr/bin/redis-server')).toBe('/usr/bin/redis-server');
    expect(findRedisServer({}, () => false)).toBeUndefined();
  });
});

describe('uniquePrefix', () => {
  it('gives a different mrtest: prefix each time, with the label in it', () => {
    const a = uniquePrefix('hub');
    const b = uniquePrefix('hub');
    expect(a).toMatch(/^mrtest:hub:[0-9a-f]+:$/);
    expect(a).not.toBe(b);
    expect(uniquePrefix()).toMatch(/^mrtest:[0-9a-f]+:$/);
  });
});

/** A client that never retries or queues, so a dead server shows as a failed command. */
function connect(server: RedisServer): Redis {
  const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => {});
  return client;
}

describeWithRedis('a real redis-server', (redis) => {
  const clients: Redis[] = [];
  const blockers: Server[] = [];
  const open = async (): Promise<Redis> => {
    const client = connect(redis());
    clients.push(client);
    await client.connect();
    return client;
  };

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    for (const blocker of blockers.splice(0)) await new Promise((resolve) => blocker.close(resolve));
    // Every test leaves the shared server running for the next one.
    if (!(await answers(redis()))) await redis().start();
  });

  it('answers on 127.0.0.1 with append-only persistence fsynced on every write', async () => {
    const client = await open();
    expect(redis().url).toBe(`redis://127.0.0.1:${redis().port}`);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'always']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', redis().dir]);
  });

  it('keeps a key written before a SIGKILL once started again on the same port', async () => {
    const key = `${uniquePrefix('kill')}greeting`;
    const before = await open();
    await before.set(key, 'hello');
    expect(await before.get(key)).toBe('hello');

    await redis().kill();
    await expect(before.get(key)).rejects.toThrow();
    await expect(answers(redis())).resolves.toBe(false);

    await redis().start();
    const after = await open();
    expect(await after.get(key)).toBe('hello');
  });

  it('says why a restart fails while the port is taken, and starts once it is free', async () => {
    await redis().kill();
    // Another process on the port; it hangs up on whoever connects, so close() does not wait on them.
    const blocker = createServer((socket) => socket.destroy());
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(redis().port, '127.0.0.1', resolve));
    // The error quotes the server's own output, so a failed start explains itself.
    await expect(redis().start()).rejects.toThrow(/exited before answering PING[\s\S]*Address already in use/);
    await new Promise((resolve) => blocker.close(resolve));
    blockers.splice(0);
    await redis().start();
    expect(await (await open()).ping()).toBe('PONG');
  });

  it('refuses to start a server that is already running', async () => {
    await expect(redis().start()).rejects.toThrow(/already running/);
  });
});

describeWithRedis('stopping a redis-server', () => {
  it('stop() ends the server and removes its directory; keep leaves the directory', async () => {
    const server = await startRedisServer();
    const client = connect(server);
    client.on('error', () => {});
    await client.connect();
    await client.set(`${uniquePrefix('stop')}k`, 'v');
    client.disconnect();
    expect(existsSync(server.dir)).toBe(true);
    await server.stop();
    expect(existsSync(server.dir)).toBe(false);
    expect(await answers(server)).toBe(false);

    const kept = await startRedisServer();
    try {
      await kept.stop({ keep: true });
      expect(existsSync(join(kept.dir, 'appendonlydir'))).toBe(true);
    } finally {
      rmSync(kept.dir, { recursive: true, force: true });
    }
  });

  it('says which executable could not be run', async () => {
    await expect(startRedisServer({ executable: '/nonexistent/redis-server' })).rejects.toThrow(/could not run \/nonexistent\/redis-server/);
  });
});

/** Whether the server answers a fresh connection. */
async function answers(server: RedisServer): Promise<boolean> {
  const client = connect(server);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
