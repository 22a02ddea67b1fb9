/**
 * The implementations of the channel contract (docs/protocol.md §2) that the conformance suite
 * runs against. Each target is a running server on 127.0.0.1 plus a producer handle that stands in
 * for the runner: it opens channels, publishes events and mints connect tokens.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerEventMap, ServerEventName } from '@modelriver/client';
import { FakeGateway } from '@modelriver/test-utils';
import { createChannelHub, type ChannelHub } from '../../examples/gateway/src/channels/index.js';
import { connectRedisNode, type RedisNode } from '../../examples/gateway/src/store/redis-node.js';

/**
 * Behaviour the contract allows a server to leave out (limits a test double has no need for).
 * A case that needs one runs only on targets that declare it.
 */
export type Capability =
  /** Joins over the socket's allowance are refused with `rate_limited` (10 at once by default). */
  | 'join-rate-limit'
  /** A channel holds at most 64 live tokens by default; issuing one more revokes the oldest. */
  | 'token-cap';

/**
 * A case a target is known to fail because it drifted from the contract. The case still runs, as
 * an expected failure: once the target is fixed the case fails, and the entry must be removed.
 */
export type Drift =
  /** A push on an unjoined topic is refused with a reason other than `unmatched_topic`. */
  | 'unmatched-topic-reason'
  /** A socket's rejoin leaves the resume_token of its previous join alive (§2: only the latest is). */
  | 'resume-token-kept-on-rejoin';

/** The payload a producer publishes: everything but `seq`, which the server assigns. */
export type PublishPayload<K extends ServerEventName> = Omit<ServerEventMap[K], 'seq'>;

/** Stands in for the runner of one request: the writing side of one channel. */
export interface Producer {
  readonly channelId: string;
  /** `ai_response:{project_id}:{channel_id}` */
  readonly topic: string;
  /** Appends an event; resolves with the seq the server gave it. */
  publish<K extends ServerEventName>(event: K, payload: PublishPayload<K>): Promise<number>;
  /** Marks the channel done (after its terminal response); its log stays for late joiners. */
  finish(): Promise<void>;
  /** A fresh single-use ws_token for this channel's topic. */
  issueToken(): Promise<string>;
  /** Resolves when a client's `cancel` reached the producer. */
  readonly cancelled: Promise<void>;
}

/** One running implementation of the contract. */
export interface ConformanceTarget {
  readonly name: string;
  readonly projectId: string;
  /** Where clients dial (`ws://127.0.0.1:port/socket`); a multi-node target gives several (joins go round-robin). */
  readonly socketUrls: readonly string[];
  readonly capabilities: ReadonlySet<Capability>;
  readonly drifts: ReadonlySet<Drift>;
  /** A new channel with a fresh UUID. */
  open(): Promise<Producer>;
  close(): Promise<void>;
}

/**
 * How to start a target. Name, capabilities and drifts are known before it starts, so the suite
 * can pick its cases while vitest collects them.
 */
export interface TargetFactory {
  readonly name: string;
  readonly capabilities: ReadonlySet<Capability>;
  readonly drifts: ReadonlySet<Drift>;
  start(): Promise<ConformanceTarget>;
}

const PROJECT_ID = '0c9e6d5a-3b2f-4e1d-9a8b-7c6d5e4f3a21';

/** A promise with its resolver, for the producer's `cancelled`. */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * The reference gateway's in-memory channel hub, attached to a bare node:http server.
 *
 * @example
 * ```ts
 * const target = await hubTarget.start();
 * const producer = await target.open();
 * await producer.publish('tokens', { delta: 'Hi' }); // 1
 * ```
 */
export const hubTarget: TargetFactory = {
  name: 'in-memory hub',
  capabilities: new Set<Capability>(['join-rate-limit', 'token-cap']),
  drifts: new Set<Drift>(),
  async start() {
    const hub = createChannelHub({ projectId: PROJECT_ID });
    const server = createServer((_req, res) => res.writeHead(404).end());
    hub.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return {
      name: this.name,
      projectId: PROJECT_ID,
      socketUrls: [`ws://127.0.0.1:${port}/socket`],
      capabilities: this.capabilities,
      drifts: this.drifts,
      async open() {
        const channelId = randomUUID();
        const cancel = signal();
        const channel = hub.open(channelId, { onCancel: cancel.resolve });
        return {
          channelId,
          topic: channel.topic,
          cancelled: cancel.promise,
          // Awaited: the hub is moving to an async store, where these may return promises.
          publish: async (event, payload) => await channel.publish(event, payload),
          finish: async () => {
            await channel.finish();
          },
          issueToken: async () => await hub.issueToken(channelId),
        };
      },
      async close() {
        await hub.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  },
};

/**
 * `FakeGateway` from @modelriver/test-utils, the double the client packages are tested against.
 *
 * @example
 * ```ts
 * const target = await fakeGatewayTarget.start();
 * ```
 */
export const fakeGatewayTarget: TargetFactory = {
  name: 'FakeGateway',
  capabilities: new Set<Capability>(),
  drifts: new Set<Drift>(),
  async start() {
    const gw = await FakeGateway.start({ projectId: PROJECT_ID });
    return {
      name: this.name,
      projectId: gw.projectId,
      socketUrls: [gw.url],
      capabilities: this.capabilities,
      drifts: this.drifts,
      async open() {
        const channel = gw.createChannel();
        const cancel = signal();
        // With a handler set, the fake leaves the response to the producer, as a runner would.
        channel.onCancel = cancel.resolve;
        return {
          channelId: channel.channelId,
          topic: channel.topic,
          cancelled: cancel.promise,
          publish: async (event, payload) => channel.emit(event, payload),
          // The fake keeps every log until it closes: nothing to mark.
          finish: async () => undefined,
          issueToken: async () => channel.issueToken(),
        };
      },
      close: () => gw.close(),
    };
  },
};

/**
 * SLOT FOR THE LEAD (issue 12): two hubs on one Redis; the producer publishes on hub A, clients
 * join on hubs B and C (`socketUrls` = [B, C], so joins go round-robin between them). Not
 * implemented yet: starting it throws. `redisUrl` may be a function, so a suite inside
 * `describeWithRedis` can pass `() => redis().url` before the server has started.
 *
 * @example
 * ```ts
 * describeWithRedis('redis', (redis) => contractCases(redisTarget(() => redis().url)));
 * ```
 */
export function redisTarget(redisUrl: string | (() => string)): TargetFactory {
  return {
    name: 'three hubs on one Redis',
    capabilities: new Set<Capability>(['join-rate-limit', 'token-cap']),
    drifts: new Set<Drift>(),
    async start() {
      const url = typeof redisUrl === 'function' ? redisUrl() : redisUrl;
      const prefix = `mrconf:${randomUUID()}:`;
      const nodes: Array<{ hub: ChannelHub; node: RedisNode; server: ReturnType<typeof createServer>; port: number }> = [];
      for (let i = 0; i < 3; i++) {
        const node = await connectRedisNode({ url, prefix, retentionMs: 60_000 });
        const hub = createChannelHub({ projectId: PROJECT_ID, backplane: node.backplane });
        const server = createServer((_req, res) => res.writeHead(404).end());
        hub.attach(server);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        nodes.push({ hub, node, server, port: (server.address() as AddressInfo).port });
      }
      // Node A runs every channel; clients only ever dial B and C.
      const producer = nodes[0] as (typeof nodes)[number];
      return {
        name: this.name,
        projectId: PROJECT_ID,
        socketUrls: nodes.slice(1).map((n) => `ws://127.0.0.1:${n.port}/socket`),
        capabilities: this.capabilities,
        drifts: this.drifts,
        async open() {
          const channelId = randomUUID();
          const cancel = signal();
          const channel = producer.hub.open(channelId, { onCancel: cancel.resolve });
          return {
            channelId,
            topic: channel.topic,
            cancelled: cancel.promise,
            publish: async (event, payload) => channel.publish(event, payload),
            finish: async () => channel.finish(),
            issueToken: () => producer.hub.issueToken(channelId),
          };
        },
        async close() {
          for (const { hub, node, server } of nodes) {
            await hub.close();
            await node.close();
            server.closeAllConnections();
            await new Promise<void>((resolve) => server.close(() => resolve()));
          }
        },
      };
    },
  };
}

/** The targets every contract case runs on. */
export const targets: readonly TargetFactory[] = [hubTarget, fakeGatewayTarget];
