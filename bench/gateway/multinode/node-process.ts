/**
 * Benchmark child: one gateway node. A channel hub in its own memory, or on a Redis backplane shared
 * with the other nodes; it may run channels (open them, issue their connect tokens and publish
 * `--rate` tokens/s to each, staggered over the period) and may serve sockets. Driven over IPC by
 * run.ts, which reads this process's CPU and memory from here so that each node is measured alone.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createChannelHub, type ChannelHandle, type ChannelHub } from '../../../examples/gateway/src/channels/index.js';
import { connectRedisNode, type RedisNode } from '../../../examples/gateway/src/store/redis-node.js';
import { cpuMsSince, wallNow } from '../common/clock.js';
import { memoryReply } from '../common/memory.js';
import { serveParent } from '../common/parent.js';
import { runPool } from '../common/pool.js';
import { startTokenPublisher, type TokenPublisher } from '../common/token-publisher.js';
import type { ChannelTicket, NodeReply, NodeRequest, NodeStore } from './protocol.js';

const PROJECT_ID = randomUUID();
/** Channels opened (and their tokens issued) at once during the set-up. */
const OPEN_CONCURRENCY = 32;

let hub: ChannelHub | undefined;
let redisNode: RedisNode | undefined;
let server: Server | undefined;
const handles: ChannelHandle[] = [];
let publisher: TokenPublisher | undefined;
let published = 0;
let cpuSince = process.cpuUsage();
let wallSince = wallNow();
let commands = new Map<string, number>();
let errors = 0;
let firstError: string | undefined;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

function reportError(error: unknown): void {
  errors++;
  firstError ??= error instanceof Error ? error.message : String(error);
}

/**
 * Counts what the node's command connection sends, by command name. Redis's own `commandstats`
 * also counts the commands a script runs, so it cannot tell them from the ones a node sent; this
 * counts only the latter (a pipeline or MULTI sends each of its commands through here too).
 */
function countCommands(node: RedisNode): void {
  const redis = node.redis;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<typeof send>[0], stream?: Parameters<typeof send>[1]) => {
    const name = command.name.toLowerCase();
    commands.set(name, (commands.get(name) ?? 0) + 1);
    return send(command, stream);
  }) as typeof redis.sendCommand;
}

async function setup(store: NodeStore, open: number, serve: boolean): Promise<NodeReply> {
  if (store.kind === 'redis') {
    redisNode = await connectRedisNode({ url: store.url, prefix: store.prefix, retentionMs: 600_000, onError: reportError });
    countCommands(redisNode);
  }
  const created = createChannelHub({
    projectId: PROJECT_ID,
    onError: reportError,
    ...(redisNode ? { backplane: redisNode.backplane } : {}),
  });
  hub = created;
  const tickets: ChannelTicket[] = new Array<ChannelTicket>(open);
  const indices = Array.from({ length: open }, (_, index) => index);
  await runPool(indices, OPEN_CONCURRENCY, async (index) => {
    const channelId = randomUUID();
    const handle = created.open(channelId, { onCancel() {} });
    handles[index] = handle;
    tickets[index] = { topic: handle.topic, token: await created.issueToken(channelId) };
  });
  let port = 0;
  if (serve) {
    const listening = createServer((_req, res) => res.writeHead(404).end());
    server = listening;
    created.attach(listening);
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', 4096, resolve));
    port = (listening.address() as AddressInfo).port;
  }
  return { type: 'ready', port, tickets };
}

function startPublisher(tokensPerSecond: number): void {
  if (handles.length === 0) return;
  publisher = startTokenPublisher(tokensPerSecond, handles.length, (i, delta) => {
    (handles[i] as ChannelHandle).publish('tokens', { delta });
    published++;
  });
}

function report(): NodeReply {
  loopDelay.disable();
  return {
    type: 'report',
    cpuMs: cpuMsSince(cpuSince),
    wallMs: wallNow() - wallSince,
    published,
    redisCommands: Object.fromEntries(commands),
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
  };
}

async function exit(): Promise<void> {
  publisher?.stop();
  try {
    server?.close();
    await hub?.close();
    await redisNode?.close();
  } finally {
    process.exit(0);
  }
}

serveParent<NodeRequest, NodeReply>(async (request) => {
  switch (request.type) {
    case 'setup':
      return setup(request.store, request.open, request.serve);
    case 'memory':
      return memoryReply(() => hub?.stats().sockets ?? 0);
    case 'start':
      startPublisher(request.tokensPerSecond);
      return { type: 'started' };
    case 'measure':
      published = 0;
      commands = new Map();
      cpuSince = process.cpuUsage();
      wallSince = wallNow();
      loopDelay.reset();
      loopDelay.enable();
      return { type: 'measuring' };
    case 'report':
      return report();
    case 'stop':
      publisher?.stop();
      return { type: 'stopped' };
    case 'exit':
      await exit();
      return undefined;
  }
});
