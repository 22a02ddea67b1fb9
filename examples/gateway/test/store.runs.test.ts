/**
 * Leases of running requests on a real redis-server: a lapsed lease is taken over by another
 * node, and the node that lost it can no longer touch it.
 */
import { afterEach, expect, it } from 'vitest';
import type { CoordinatorHost, RunCoordinator, RunSpec } from '../src/runner/coordinator.js';
import { connectRedisNode, type RedisNode } from '../src/store/redis-node.js';
import { createRedisRunCoordinator } from '../src/store/redis-runs.js';
import { until } from './e2e.helpers.js';
import { describeWithRedis, uniquePrefix } from './redis.helpers.js';

const CHANNEL = '5b0c3e7a-1d2f-4a6b-8c9d-0e1f2a3b4c5d';

function spec(): RunSpec {
  return {
    channelId: CHANNEL,
    projectId: null,
    webhookSecret: null,
    workflow: 'chat',
    messages: [{ role: 'user', content: 'hi' }],
    metadata: {},
    webhookUrl: null,
    events: [],
    mode: 'async',
    publicBase: 'http://gw.test',
    startedAt: 0,
  };
}

/** A host that records what its coordinator tells it. */
function host(): CoordinatorHost & { takenOver: string[]; lostIds: string[] } {
  const takenOver: string[] = [];
  const lostIds: string[] = [];
  return {
    takenOver,
    lostIds,
    takeOver: async (s) => void takenOver.push(s.channelId),
    lost: (id) => void lostIds.push(id),
    callback() {},
    reportError() {},
  };
}

describeWithRedis('run leases on Redis', (redis) => {
  const nodes: RedisNode[] = [];
  const coordinators: RunCoordinator[] = [];

  afterEach(async () => {
    for (const c of coordinators.splice(0)) await c.close();
    for (const n of nodes.splice(0)) await n.close();
  });

  async function coordinator(prefix: string, leaseMs: number) {
    const node = await connectRedisNode({ url: redis().url, prefix, retentionMs: 60_000 });
    nodes.push(node);
    const c = createRedisRunCoordinator({ redis: node.redis, bus: node.bus, prefix, leaseMs });
    coordinators.push(c);
    const h = host();
    c.bind(h);
    return { node, c, h };
  }

  it('a node that lost its lease and then ends the request leaves the new owner’s lease alone', async () => {
    const prefix = uniquePrefix('runs');
    // A renews rarely enough that B can take the request between two renewals.
    const a = await coordinator(prefix, 60_000);
    await a.c.started(spec());
    // As if A had been cut off past its lease: it lapses, and B (short scans) takes the request.
    await a.node.redis.del(`${prefix}lease:${CHANNEL}`);
    await a.node.redis.zadd(`${prefix}running`, 0, CHANNEL);
    const b = await coordinator(prefix, 300);
    await until(async () => (b.h.takenOver.includes(CHANNEL) ? true : null));
    expect(await a.node.redis.get(`${prefix}lease:${CHANNEL}`)).toBe(b.node.nodeId);

    // A's request ends before A learns it was lost (its next renewal would tell it).
    a.c.ended(CHANNEL);
    await a.node.redis.ping(); // after A's commands, on the same connection
    expect(await a.node.redis.get(`${prefix}lease:${CHANNEL}`)).toBe(b.node.nodeId);
    expect(await a.node.redis.exists(`${prefix}run:${CHANNEL}`)).toBe(1);
  });
});
