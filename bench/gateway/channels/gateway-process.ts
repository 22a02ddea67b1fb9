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
import { WebSocketServer, type WebSocket } from 'ws';
import { createChannelHub, type ChannelHandle, type ChannelHub } from '../../../examples/gateway/src/channels/index.js';
import { cpuPercent, wallNow } from '../common/clock.js';
import { memoryReply } from '../common/memory.js';
import { serveParent } from '../common/parent.js';
import { startTokenPublisher, type TokenPublisher } from '../common/token-publisher.js';
import { stampToken } from '../common/token-stamp.js';
import type { ChannelTicket, FirstTokenCase, GatewayReply, GatewayRequest } from './protocol.js';

const PROJECT_ID = randomUUID();

/** What the publisher needs from either gateway. */
interface Gateway {
  publish(index: number, delta: string): void;
  sockets(): number;
  lagging(): number;
}

const server = createServer((_req, res) => res.writeHead(404).end());
let gateway: Gateway | undefined;
let channelCount = 0;
let publisher: TokenPublisher | undefined;
let published = 0;
let cpuSince = process.cpuUsage();
let wallSince = wallNow();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });

async function setupHub(channels: number, prefill: number, firstToken: FirstTokenCase | undefined): Promise<ChannelTicket[]> {
  const handles: ChannelHandle[] = [];
  const byId = new Map<string, ChannelHandle>();
  const hub: ChannelHub = createChannelHub({
    projectId: PROJECT_ID,
    // A 0 ms provider: generation starts as soon as the client has joined.
    onJoin:
      firstToken === 'live'
        ? ({ channelId }) => setImmediate(() => byId.get(channelId)?.publish('tokens', { delta: stampToken() }))
        : undefined,
  });
  hub.attach(server);
  const tickets: ChannelTicket[] = [];
  for (let i = 0; i < channels; i++) {
    const channelId = randomUUID();
    const handle = hub.open(channelId, { onCancel() {} });
    handles.push(handle);
    byId.set(channelId, handle);
    for (let k = 0; k < prefill; k++) handle.publish('tokens', { delta: stampToken() });
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
          ws.send(frame(i, joinRefJson, JSON.stringify({ seq: prefill, first_seq: 1, delta: stampToken().repeat(prefill) })));
        } else if (firstToken === 'live') {
          setImmediate(() => {
            const seq = ++seqs[i]!;
            ws.send(frame(i, joinRefJson, JSON.stringify({ seq, delta: stampToken() })));
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
  published = 0;
  cpuSince = process.cpuUsage();
  wallSince = wallNow();
  loopDelay.reset();
  loopDelay.enable();
  const target = gateway as Gateway;
  publisher = startTokenPublisher(tokensPerSecond, channelCount, (i, delta) => {
    target.publish(i, delta);
    published++;
  });
}

/** Runs the chosen gateway on a loopback port and returns its port and the channels' tickets. */
async function setup(request: Extract<GatewayRequest, { type: 'setup' }>): Promise<GatewayReply> {
  channelCount = request.channels;
  const setupGateway = request.mode === 'hub' ? setupHub : setupBare;
  const tickets = await setupGateway(request.channels, request.prefillTokens, request.firstToken);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 4096, resolve));
  return { type: 'ready', port: (server.address() as AddressInfo).port, tickets };
}

function stop(): GatewayReply {
  publisher?.stop();
  loopDelay.disable();
  return {
    type: 'stopped',
    published,
    cpuPercent: cpuPercent(cpuSince, wallSince),
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    lagging: gateway?.lagging() ?? 0,
  };
}

serveParent<GatewayRequest, GatewayReply>((request) => {
  if (request.type === 'setup') return setup(request);
  if (request.type === 'memory') return memoryReply(() => gateway?.sockets() ?? 0);
  if (request.type === 'stop') return stop();
  if (request.type === 'exit') process.exit(0);
  // What is left is `start`.
  startPublisher(request.tokensPerSecond);
  return { type: 'started' };
});
