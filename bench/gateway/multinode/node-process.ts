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
import { setImmediate as tick } from 'node:timers/promises';
import { createChannelHub, type ChannelHandle, type ChannelHub } from '../../../examples/gateway/src/channels/index.js';
import { connectRedisNode, type RedisNode } from '../../../examples/gateway/src/store/redis-node.js';
import { cpuMsSince, wallNow, type ChannelTicket, type NodeReply, type NodeRequest, type NodeStore } from './protocol.js';

const PROJECT_ID = randomUUID();
/** The publisher ticks this many times per token period, each tick serving one slice of the channels. */
const SLOTS = 10;
/** Channels opened (and their tokens issued) at once during the set-up. */
const OPEN_CONCURRENCY = 32;

let hub: ChannelHub | undefined;
let redisNode: RedisNode | undefined;
let server: Server | undefined;
const handles: ChannelHandle[] = [];
let publisher: ReturnType<typeof setInterval> | undefined;
let published = 0;
let cpuSince = process.cpuUsage();
let wallSince = wallNow();
let commands = new Map<string, number>();
let errors = 0;
let firstError: string | undefined;
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

function send(message: NodeReply): void {
  process.send?.(message);
}

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

/** A token stamped with the time it was due (a token waiting in a busy loop counts as delay). */
function token(producedAt: number): string {
  return `t=${producedAt.toFixed(3)};lorem `;
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
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(OPEN_CONCURRENCY, open) }, async () => {
      while (next < open) {
        const index = next++;
        const channelId = randomUUID();
        const handle = created.open(channelId, { onCancel() {} });
        handles[index] = handle;
        tickets[index] = { topic: handle.topic, token: await created.issueToken(channelId) };
      }
    }),
  );
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
  const slotMs = 1000 / tokensPerSecond / SLOTS;
  let slot = 0;
  let nextAt = wallNow();
  publisher = setInterval(() => {
    const now = wallNow();
    // Catch up on late ticks, so the offered rate holds even when the loop is busy.
    while (nextAt <= now) {
      const delta = token(nextAt);
      for (let i = slot; i < handles.length; i += SLOTS) {
        (handles[i] as ChannelHandle).publish('tokens', { delta });
        published++;
      }
      slot = (slot + 1) % SLOTS;
      nextAt += slotMs;
    }
  }, slotMs);
}

async function memory(): Promise<NodeReply> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) {
    gc?.();
    await tick();
  }
  const usage = process.memoryUsage();
  return { type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, sockets: hub?.stats().sockets ?? 0 };
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
  clearInterval(publisher);
  try {
    server?.close();
    await hub?.close();
    await redisNode?.close();
  } finally {
    process.exit(0);
  }
}

process.on('message', (raw) => {
  const message = raw as NodeRequest;
  void (async () => {
    switch (message.type) {
      case 'setup':
        send(await setup(message.store, message.open, message.serve));
        break;
      case 'memory':
        send(await memory());
        break;
      case 'start':
        startPublisher(message.tokensPerSecond);
        send({ type: 'started' });
        break;
      case 'measure':
        published = 0;
        commands = new Map();
        cpuSince = process.cpuUsage();
        wallSince = wallNow();
        loopDelay.reset();
        loopDelay.enable();
        send({ type: 'measuring' });
        break;
      case 'report':
        send(report());
        break;
      case 'stop':
        clearInterval(publisher);
        send({ type: 'stopped' });
        break;
      case 'exit':
        await exit();
    }
  })().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
