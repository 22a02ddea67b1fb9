/**
 * Benchmark child: the gateway side. Runs either the channel hub (mode `hub`) or the anchor, a bare
 * `ws` server that answers joins and writes frames with no tokens, log, replay or flow control
 * (mode `bare-ws`), plus a publisher emitting N tokens/s per channel, staggered over the period.
 * Driven over IPC by bench/channels.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';
import { createChannelHub, type ChannelHandle, type ChannelHub } from '../../../examples/gateway/src/channels/index.js';
import { cpuPercent, wallNow, type ChannelTicket, type FirstTokenCase, type GatewayReply, type GatewayRequest } from './shared.js';

const PROJECT_ID = randomUUID();
/** The publisher ticks this many times per token period, each tick serving one slice of the channels. */
const SLOTS = 10;

/** What the publisher needs from either gateway. */
interface Gateway {
  publish(index: number, delta: string): void;
  sockets(): number;
  lagging(): number;
}

const server = createServer((_req, res) => res.writeHead(404).end());
let gateway: Gateway | undefined;
let channelCount = 0;
let publisher: ReturnType<typeof setInterval> | undefined;
let published = 0;
let cpuSince = process.cpuUsage();
let wallSince = wallNow();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

/**
 * A token stamped with its production time. The publisher passes the time the token was due, not
 * the time the (possibly busy) event loop got round to it: a real provider's token waits in the
 * loop too, and that wait is part of the delay the client sees.
 */
function token(producedAt: number = wallNow()): string {
  return `t=${producedAt.toFixed(3)};lorem `;
}

function send(message: GatewayReply): void {
  process.send?.(message);
}

async function setupHub(channels: number, prefill: number, firstToken: FirstTokenCase | undefined): Promise<ChannelTicket[]> {
  const handles: ChannelHandle[] = [];
  const byId = new Map<string, ChannelHandle>();
  const hub: ChannelHub = createChannelHub({
    projectId: PROJECT_ID,
    // A 0 ms provider: generation starts as soon as the client has joined.
    onJoin:
      firstToken === 'live'
        ? ({ channelId }) => setImmediate(() => byId.get(channelId)?.publish('tokens', { delta: token() }))
        : undefined,
  });
  hub.attach(server);
  const tickets: ChannelTicket[] = [];
  for (let i = 0; i < channels; i++) {
    const channelId = randomUUID();
    const handle = hub.open(channelId, { onCancel() {} });
    handles.push(handle);
    byId.set(channelId, handle);
    for (let k = 0; k < prefill; k++) handle.publish('tokens', { delta: token() });
    tickets.push({ topic: handle.topic, token: await hub.issueToken(channelId) });
  }
  gateway = {
    publish(index, delta) {
      (handles[index] as ChannelHandle).publish('tokens', { delta });
    },
    sockets: () => hub.stats().sockets,
    lagging: () => hub.stats().lagging ?? 0,
  };
  return tickets;
}

/** The anchor: what writing the same frames costs with `ws` alone. */
function setupBare(channels: number, prefill: number, firstToken: FirstTokenCase | undefined): ChannelTicket[] {
  interface Sub {
    ws: WebSocket;
    joinRefJson: string;
  }
  const topics: string[] = [];
  const topicJson: string[] = [];
  const seqs = new Int32Array(channels);
  const subs: Sub[][] = [];
  const indexOf = new Map<string, number>();
  for (let i = 0; i < channels; i++) {
    const topic = `ai_response:${PROJECT_ID}:${randomUUID()}`;
    topics.push(topic);
    topicJson.push(JSON.stringify(topic));
    subs.push([]);
    indexOf.set(topic, i);
    seqs[i] = prefill;
  }
  const frame = (i: number, joinRefJson: string, payload: string): string =>
    `[${joinRefJson},null,${topicJson[i]},"tokens",${payload}]`;
  let sockets = 0;
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets++;
      ws.on('close', () => sockets--);
      ws.on('message', (data) => {
        const [joinRef, ref, topic, event] = JSON.parse(data.toString()) as [string | null, string, string, string];
        if (event === 'heartbeat') {
          ws.send(JSON.stringify([null, ref, 'phoenix', 'phx_reply', { status: 'ok', response: {} }]));
          return;
        }
        const i = indexOf.get(topic);
        if (event !== 'phx_join' || i === undefined) return;
        const joinRefJson = JSON.stringify(joinRef);
        ws.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response: { last_seq: seqs[i] } }]));
        subs[i]?.push({ ws, joinRefJson });
        if (firstToken === 'replay') {
          ws.send(frame(i, joinRefJson, JSON.stringify({ seq: prefill, first_seq: 1, delta: token().repeat(prefill) })));
        } else if (firstToken === 'live') {
          setImmediate(() => {
            const seq = ++seqs[i]!;
            ws.send(frame(i, joinRefJson, JSON.stringify({ seq, delta: token() })));
          });
        }
      });
    });
  });
  gateway = {
    publish(index, delta) {
      const seq = ++seqs[index]!;
      const payload = JSON.stringify({ seq, delta });
      for (const sub of subs[index] as Sub[]) sub.ws.send(frame(index, sub.joinRefJson, payload));
    },
    sockets: () => sockets,
    lagging: () => 0,
  };
  return topics.map((topic) => ({ topic, token: 'bare' }));
}

function startPublisher(tokensPerSecond: number): void {
  const slotMs = 1000 / tokensPerSecond / SLOTS;
  let slot = 0;
  let nextAt = wallNow();
  published = 0;
  cpuSince = process.cpuUsage();
  wallSince = wallNow();
  loopDelay.reset();
  loopDelay.enable();
  publisher = setInterval(() => {
    const now = wallNow();
    // Catch up on late ticks, so the offered rate holds even when the loop is busy.
    while (nextAt <= now) {
      const delta = token(nextAt);
      for (let i = slot; i < channelCount; i += SLOTS) {
        (gateway as Gateway).publish(i, delta);
        published++;
      }
      slot = (slot + 1) % SLOTS;
      nextAt += slotMs;
    }
  }, slotMs);
}

async function memory(): Promise<GatewayReply> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) {
    gc?.();
    await tick();
  }
  const usage = process.memoryUsage();
  return {
    type: 'memory',
    rss: usage.rss,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    sockets: gateway?.sockets() ?? 0,
  };
}

process.on('message', (raw) => {
  const message = raw as GatewayRequest;
  void (async () => {
    switch (message.type) {
      case 'setup': {
        channelCount = message.channels;
        const setup = message.mode === 'hub' ? setupHub : setupBare;
        const tickets = await setup(message.channels, message.prefillTokens, message.firstToken);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 4096, resolve));
        send({ type: 'ready', port: (server.address() as AddressInfo).port, tickets });
        break;
      }
      case 'memory':
        send(await memory());
        break;
      case 'start':
        startPublisher(message.tokensPerSecond);
        send({ type: 'started' });
        break;
      case 'stop': {
        clearInterval(publisher);
        loopDelay.disable();
        send({
          type: 'stopped',
          published,
          cpuPercent: cpuPercent(cpuSince, wallSince),
          loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
          lagging: gateway?.lagging() ?? 0,
        });
        break;
      }
      case 'exit':
        process.exit(0);
    }
  })();
});
process.on('disconnect', () => process.exit(0));
