/**
 * Webhook delivery through connected CLI listeners (`webhook_url: "cli"`): the listener topic's
 * authentication and join rules, the exact signed bytes pushed to the listener, its reported
 * status feeding retries and dead letters, and the request log's attempt records.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { verifyWebhook } from '@modelriver/node';
import { startGateway, type GatewayConfig, type RunningGateway } from '../src/gateway.js';
import { api, ask } from './e2e.helpers.js';

let gw: RunningGateway | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await gw?.close();
  gw = undefined;
});

async function start(overrides: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0, mockTokens: 4, ...overrides });
  return gw;
}

type Frame = [string | null, string | null, string, string, Record<string, any>];

/** A raw listener socket that records frames and lets the test await the next matching one. */
interface RawListener {
  ws: WebSocket;
  frames: Frame[];
  next(predicate: (frame: Frame) => boolean): Promise<Frame>;
  push(topic: string, event: string, payload: object): string;
}

let refCounter = 0;

function openListener(g: RunningGateway, apiKey: string | null = g.apiKey): Promise<RawListener | { status: number }> {
  const headers: Record<string, string> = apiKey === null ? {} : { authorization: `Bearer ${apiKey}` };
  const ws = new WebSocket(`${g.wsUrl}/websocket?vsn=2.0.0`, { headers });
  sockets.push(ws);
  const frames: Frame[] = [];
  const waiters: Array<{ predicate: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  let seen = 0;
  ws.on('message', (data: RawData) => {
    const frame = JSON.parse(String(data)) as Frame;
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  const listener: RawListener = {
    ws,
    frames,
    next(predicate) {
      const found = frames.slice(seen).find(predicate);
      if (found) {
        seen = frames.indexOf(found) + 1;
        return Promise.resolve(found);
      }
      return new Promise((resolve) =>
        waiters.push({
          predicate,
          resolve: (f) => {
            seen = frames.indexOf(f) + 1;
            resolve(f);
          },
        }),
      );
    },
    push(topic, event, payload) {
      const ref = String(++refCounter);
      ws.send(JSON.stringify(['1', ref, topic, event, payload]));
      return ref;
    },
  };
  return new Promise((resolve) => {
    ws.once('open', () => resolve(listener));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.once('error', () => undefined);
  });
}

async function joinedListener(g: RunningGateway, projectId = g.projectId, apiKey = g.apiKey): Promise<RawListener> {
  const opened = await openListener(g, apiKey);
  if (!('ws' in opened)) throw new Error(`upgrade refused with ${opened.status}`);
  const ref = opened.push(`webhooks:${projectId}`, 'phx_join', {});
  const reply = await opened.next((f) => f[1] === ref);
  expect(reply[4]).toMatchObject({ status: 'ok', response: { project_id: projectId } });
  return opened;
}

const isDelivery = (f: Frame): boolean => f[3] === 'webhook';

async function startCliRequest(g: RunningGateway): Promise<string> {
  const answer = await api(g, '/v1/ai/async', { workflow: 'chat', messages: ask('Hello'), webhook_url: 'cli' });
  expect(answer.status).toBe(202);
  return answer.body['channel_id'] as string;
}

/** Awaits the request log until `predicate` holds, one log read per webhook attempt event. */
async function logWhen(g: RunningGateway, channelId: string, predicate: (log: Record<string, any>) => boolean): Promise<Record<string, any>> {
  // The log changes only on attempts; reading it after each settles without racing a clock.
  for (;;) {
    const log = (await api(g, `/v1/requests/${channelId}`)).body;
    if (predicate(log)) return log;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('listener topic', () => {
  it('authenticates the upgrade with the API key in a header: a wrong key gets 401, no key 403', async () => {
    const g = await start();
    expect(await openListener(g, 'mr_test_wrong_key')).toEqual({ status: 401 });
    expect(await openListener(g, null)).toEqual({ status: 403 });
  });

  it('joins only the topic of its own project', async () => {
    const other = randomUUID();
    const g = await start({ projects: [{ id: other, apiKeys: ['mr_test_other_project'] }] });
    const listener = (await openListener(g)) as RawListener;
    let ref = listener.push(`webhooks:${other}`, 'phx_join', {});
    expect((await listener.next((f) => f[1] === ref))[4]).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
    ref = listener.push('webhooks:not-a-uuid', 'phx_join', {});
    expect((await listener.next((f) => f[1] === ref))[4]).toEqual({ status: 'error', response: { reason: 'invalid_channel_format' } });
    ref = listener.push(`ai_response:${g.projectId}:${randomUUID()}`, 'phx_join', {});
    expect((await listener.next((f) => f[1] === ref))[4]).toMatchObject({ status: 'error' });
    await joinedListener(g, other, 'mr_test_other_project');
    const self = (await openListener(g, 'mr_test_other_project')) as RawListener;
    ref = self.push('webhooks:self', 'phx_join', {});
    expect((await self.next((f) => f[1] === ref))[4]).toEqual({ status: 'ok', response: { project_id: other } });
  });

  it('keeps the join rate limit of channel sockets', async () => {
    const g = await start({ joinBurst: 1, joinsPerSecond: 0.001 });
    const listener = await joinedListener(g);
    const ref = listener.push(`webhooks:${g.projectId}`, 'phx_join', {});
    expect((await listener.next((f) => f[1] === ref))[4]).toEqual({ status: 'error', response: { reason: 'rate_limited' } });
  });

  it('drops frames over the frame limit and keeps the socket open', async () => {
    const g = await start({ maxFrameBytes: 1024 });
    const listener = await joinedListener(g);
    listener.push(`webhooks:${g.projectId}`, 'webhook_result', { attempt_id: 'x'.repeat(2000) });
    const ref = listener.push('phoenix', 'heartbeat', {});
    expect((await listener.next((f) => f[1] === ref))[4]).toEqual({ status: 'ok', response: {} });
  });

  it('refuses reports of attempts it never sent, and malformed reports', async () => {
    const g = await start();
    const listener = await joinedListener(g);
    const topic = `webhooks:${g.projectId}`;
    let ref = listener.push(topic, 'webhook_result', { attempt_id: randomUUID(), status: 200 });
    expect((await listener.next((f) => f[1] === ref))[4]).toEqual({ status: 'error', response: { reason: 'unknown_attempt' } });
    ref = listener.push(topic, 'webhook_result', { attempt_id: 'a', status: 'two hundred' });
    expect((await listener.next((f) => f[1] === ref))[4]).toEqual({ status: 'error', response: { reason: 'invalid_payload' } });
  });
});

describe('delivery through a listener', () => {
  it('pushes the exact signed bytes and headers; a 2xx report delivers it and is logged like an HTTP attempt', async () => {
    const g = await start();
    const listener = await joinedListener(g);
    const channelId = await startCliRequest(g);
    const [, , , , push] = await listener.next(isDelivery);
    expect(push['channel_id']).toBe(channelId);
    const verified = verifyWebhook({ body: push['body'], headers: push['headers'], secret: g.webhookSecret });
    expect(verified.event).toMatchObject({ type: 'task.completed', channel_id: channelId, id: push['delivery_id'] });
    expect(push['timeout_ms']).toBe(g.config.webhookTimeoutMs);
    listener.push(`webhooks:${g.projectId}`, 'webhook_result', { attempt_id: push['attempt_id'], status: 204 });
    const log = await logWhen(g, channelId, (l) => l['webhooks'][0]?.state === 'delivered');
    expect(log['webhooks'][0]).toMatchObject({ url: 'cli', state: 'delivered', attempts: [{ attempt: 1, status: 204 }] });
  });

  it('a failing local status is retried on the schedule and delivered once on the retry', async () => {
    const g = await start({ webhookRetryScheduleMs: [20, 20] });
    const listener = await joinedListener(g);
    const channelId = await startCliRequest(g);
    const first = (await listener.next(isDelivery))[4];
    listener.push(`webhooks:${g.projectId}`, 'webhook_result', { attempt_id: first['attempt_id'], status: 500 });
    const second = (await listener.next(isDelivery))[4];
    expect(second['delivery_id']).toBe(first['delivery_id']);
    expect(second['attempt_id']).not.toBe(first['attempt_id']);
    listener.push(`webhooks:${g.projectId}`, 'webhook_result', { attempt_id: second['attempt_id'], status: 200 });
    const log = await logWhen(g, channelId, (l) => l['webhooks'][0]?.state === 'delivered');
    expect(log['webhooks'][0].attempts.map((a: { status?: number }) => a.status)).toEqual([500, 200]);
    expect(listener.frames.filter(isDelivery)).toHaveLength(2);
  });

  it('with no listener connected the attempt fails, and after the schedule it is a dead letter that can be replayed', async () => {
    const g = await start({ webhookRetryScheduleMs: [] });
    const channelId = await startCliRequest(g);
    const log = await logWhen(g, channelId, (l) => l['webhooks'][0]?.state === 'dead');
    expect(log['webhooks'][0].attempts[0]).toMatchObject({ attempt: 1, error: 'no cli listener connected' });
    const dead = (await api(g, '/v1/webhooks/dead-letters')).body['dead_letters'];
    expect(dead).toMatchObject([{ url: 'cli', channel_id: channelId, state: 'dead' }]);

    const listener = await joinedListener(g);
    expect((await api(g, `/v1/webhooks/dead-letters/${dead[0].id}/replay`, undefined, { method: 'POST' })).status).toBe(202);
    const push = (await listener.next(isDelivery))[4];
    listener.push(`webhooks:${g.projectId}`, 'webhook_result', { attempt_id: push['attempt_id'], status: 200 });
    await logWhen(g, channelId, (l) => l['webhooks'][0]?.state === 'delivered');
  });

  it('a listener that disconnects mid-attempt fails the attempt; the retry goes to the newest listener', async () => {
    const g = await start({ webhookRetryScheduleMs: [20] });
    const first = await joinedListener(g);
    const channelId = await startCliRequest(g);
    await first.next(isDelivery);
    // Joined before the drop, so the retry cannot race the join: it goes to the newest listener.
    const second = await joinedListener(g);
    first.ws.terminate();
    const push = (await second.next(isDelivery))[4];
    second.push(`webhooks:${g.projectId}`, 'webhook_result', { attempt_id: push['attempt_id'], error: 'connect ECONNREFUSED 127.0.0.1:4000' });
    const log = await logWhen(g, channelId, (l) => l['webhooks'][0]?.state === 'dead');
    expect(log['webhooks'][0].attempts).toMatchObject([
      { attempt: 1, error: 'cli listener disconnected' },
      { attempt: 2, error: 'cli: connect ECONNREFUSED 127.0.0.1:4000' },
    ]);
  });

  it('a workflow whose webhookUrl is "cli" delivers through the listener without a webhook_url in the request', async () => {
    const g = await start({ workflows: { 'chat-cli': { providers: [{ type: 'mock' }], webhookUrl: 'cli' } } });
    const listener = await joinedListener(g);
    const answer = await api(g, '/v1/ai/async', { workflow: 'chat-cli', messages: ask('Hi') });
    const push = (await listener.next(isDelivery))[4];
    expect(push['channel_id']).toBe(answer.body['channel_id']);
    const workflows = (await api(g, '/v1/workflows')).body['workflows'];
    expect(workflows.find((w: { name: string }) => w.name === 'chat-cli')).toMatchObject({ webhook_url: 'cli' });
  });

  it('refuses a webhook_url that is neither http(s) nor "cli"', async () => {
    const g = await start();
    const answer = await api(g, '/v1/ai/async', { workflow: 'chat', messages: ask('Hi'), webhook_url: 'CLI' });
    expect(answer.status).toBe(400);
    expect(answer.body['error'].message).toContain('"cli"');
  });
});
