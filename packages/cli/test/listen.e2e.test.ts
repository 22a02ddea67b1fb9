/**
 * `modelriver listen` end to end over real sockets on 127.0.0.1: the reference gateway on port 0,
 * the CLI in-process, and an Express backend that verifies with @modelriver/node and calls back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ModelRiver, verifyWebhook, type WebhookEvent } from '@modelriver/node';
import { startGateway, type GatewayConfig, type RunningGateway } from '../../../examples/gateway/src/gateway.js';
import { startCli, type CliRun } from './cli.helpers.js';

let gw: RunningGateway | undefined;
let app: Server | undefined;
const clis: CliRun[] = [];
afterEach(async () => {
  for (const cli of clis.splice(0)) {
    cli.stop();
    await cli.exit;
  }
  app?.closeAllConnections();
  await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
  await gw?.close();
  gw = undefined;
  app = undefined;
});

async function start(overrides: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0, mockTokens: 4, ...overrides });
  return gw;
}

/** A backend: verifies every delivery, answers the first `failFirst` with 500, calls back on ai_generated. */
async function backend(g: RunningGateway, failFirst = 0): Promise<{ url: string; received: WebhookEvent[]; answered: number[] }> {
  const received: WebhookEvent[] = [];
  const answered: number[] = [];
  const modelRiver = new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url });
  const server = express();
  server.post('/webhook/modelriver', express.text({ type: '*/*' }), async (req, res) => {
    const { event } = verifyWebhook({ body: req.body as string, headers: req.headers, secret: g.webhookSecret });
    if (answered.length < failFirst) {
      answered.push(500);
      res.status(500).end();
      return;
    }
    received.push(event);
    if (event.type === 'task.ai_generated') {
      await modelRiver.callback(event.channel_id, { data: { ...(event.ai_response?.data as object), enriched: true }, task_id: 'job_1' });
    }
    answered.push(200);
    res.status(200).json({ ok: true });
  });
  app = createServer(server);
  await new Promise<void>((resolve) => app!.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(app.address() as AddressInfo).port}/webhook/modelriver`, received, answered };
}

function listenCli(g: RunningGateway, target: string, extra: string[] = []): CliRun {
  const cli = startCli(['listen', '--forward-to', target, ...extra], { MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: g.url });
  clis.push(cli);
  return cli;
}

/** The request log once `predicate` holds (the CLI prints a line before its report reaches the gateway). */
async function requestLog(g: RunningGateway, channelId: string, predicate: (log: Record<string, any>) => boolean): Promise<Record<string, any>> {
  for (;;) {
    const log = (await (await fetch(`${g.url}/v1/requests/${channelId}`, { headers: { authorization: `Bearer ${g.apiKey}` } })).json()) as Record<string, any>;
    if (predicate(log)) return log;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('modelriver listen --forward-to', () => {
  it('forwards an event-driven webhook to an Express backend that verifies it and calls back: the client gets completed', async () => {
    const g = await start();
    const target = await backend(g);
    const cli = listenCli(g, target.url);
    await cli.line(/^Ready! Forwarding to /);
    const modelRiver = new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url });
    const ack = await modelRiver.ai.async({ workflow: 'chat-event', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' });
    const final = await modelRiver.stream(ack).finalResponse();
    expect(final).toMatchObject({ status: 'completed', task_id: 'job_1' });
    expect((final.data as Record<string, unknown>)['enriched']).toBe(true);
    const line = await cli.line(/^task\.ai_generated/);
    expect(line).toMatch(/^task\.ai_generated\s+evt_\w+\s+200\s+\d+ ms$/);
    expect(target.received.map((e) => e.type)).toEqual(['task.ai_generated']);
  });

  it('a local target that fails twice gets the delivery on the gateway\'s retry, once; listen keeps running', async () => {
    const g = await start({ webhookRetryScheduleMs: [30, 30, 30] });
    const target = await backend(g, 2);
    const cli = listenCli(g, target.url);
    await cli.line(/^Ready!/);
    const ack = await new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url }).ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' });
    await cli.line(/^task\.completed .* 200 /);
    expect(cli.stdout.filter((l) => l.startsWith('task.completed')).map((l) => l.split(/\s+/)[2])).toEqual(['500', '500', '200']);
    expect(target.received).toHaveLength(1);
    const log = await requestLog(g, ack.channel_id, (l) => l['webhooks'][0]?.state !== 'pending');
    expect(log['webhooks'][0]).toMatchObject({ url: 'cli', state: 'delivered' });
    expect(log['webhooks'][0].attempts.map((a: { status?: number }) => a.status)).toEqual([500, 500, 200]);
  });

  it('the CLI stopped and started again: a delivery made while it was away arrives on a retry, nothing lost or doubled', async () => {
    // Retries outlast the test, so a slow restart never becomes a dead letter.
    const g = await start({ webhookRetryScheduleMs: Array(1000).fill(50) });
    const target = await backend(g);
    const first = listenCli(g, target.url);
    await first.line(/^Ready!/);
    const modelRiver = new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url });
    const a = await modelRiver.ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'A' }], webhook_url: 'cli' });
    await first.line(/^task\.completed .* 200 /);
    first.stop();
    expect(await first.exit).toBe(0);

    const b = await modelRiver.ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'B' }], webhook_url: 'cli' });
    await modelRiver.stream(b).finalResponse();
    const second = listenCli(g, target.url);
    await second.line(/^task\.completed .* 200 /);
    expect(target.received.map((e) => e.channel_id)).toEqual([a.channel_id, b.channel_id]);
    const log = await requestLog(g, b.channel_id, (l) => l['webhooks'][0]?.state !== 'pending');
    expect(log['webhooks'][0].state).toBe('delivered');
    // Its first attempt found no listener (or the one going away); a retry reached the new one.
    expect(log['webhooks'][0].attempts[0].error).toMatch(/^(no cli listener connected|cli listener disconnected)$/);
    expect(log['webhooks'][0].attempts.at(-1).status).toBe(200);
  });

  it('a local target that is down: one line per attempt with the reason, the gateway logs it, listen keeps running', async () => {
    const g = await start({ webhookRetryScheduleMs: [] });
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', () => resolve()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const cli = listenCli(g, `http://127.0.0.1:${port}/webhook`);
    await cli.line(/^Ready!/);
    const ack = await new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url }).ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' });
    const line = await cli.line(/^task\.completed/);
    expect(line).toMatch(/failed .*local target unreachable/);
    const log = await requestLog(g, ack.channel_id, (l) => l['webhooks'][0]?.state !== 'pending');
    expect(log['webhooks'][0].attempts[0].error).toMatch(/^cli: local target unreachable/);
    const second = await new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url }).ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'again' }], webhook_url: 'cli' });
    await cli.line((l) => l.startsWith('task.completed') && cli.stdout.filter((x) => x.startsWith('task.completed')).length === 2);
    expect(second.channel_id).toBeTruthy();
  });

  it('a slow local target: the attempt ends before the gateway\'s timeout and is reported failed', async () => {
    const g = await start({ webhookRetryScheduleMs: [], webhookTimeoutMs: 600 });
    const server = express();
    server.post('/slow', () => undefined); // never answers
    app = createServer(server);
    await new Promise<void>((resolve) => app!.listen(0, '127.0.0.1', () => resolve()));
    const cli = listenCli(g, `http://127.0.0.1:${(app.address() as AddressInfo).port}/slow`, ['--json']);
    await cli.line(/"type":"ready"/);
    const ack = await new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url }).ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' });
    const record = JSON.parse(await cli.line(/"type":"delivery"/)) as Record<string, unknown>;
    expect(record).toMatchObject({ event_type: 'task.completed', channel_id: ack.channel_id, error: 'local target did not answer within 350 ms' });
  });

  it('--print only prints: nothing is forwarded and the gateway keeps the delivery (dead letter)', async () => {
    const g = await start({ webhookRetryScheduleMs: [] });
    const cli = startCli(['listen', '--print', '--json'], { MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: g.url });
    clis.push(cli);
    await cli.line(/"type":"ready"/);
    const ack = await new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url }).ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' });
    const record = JSON.parse(await cli.line(/"type":"delivery"/)) as { forwarded: boolean; body: string };
    expect(record.forwarded).toBe(false);
    expect(JSON.parse(record.body)).toMatchObject({ type: 'task.completed', channel_id: ack.channel_id });
  });

  it('reconnects with backoff after the link drops, and deliveries flow again', async () => {
    const g = await start();
    const target = await backend(g);
    const sockets: WebSocket[] = [];
    const cli = startCli(['listen', '--forward-to', target.url], { MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: g.url }, {
      createSocket: (url, headers) => {
        const ws = new WebSocket(url, { headers });
        sockets.push(ws);
        return ws;
      },
    });
    clis.push(cli);
    await cli.line(/^Ready!/);
    sockets[0]!.terminate(); // what a sleep or a cut link looks like to the listener
    await cli.line(/^connection lost .* reconnecting in /);
    await cli.line(/^reconnected/);
    expect(sockets).toHaveLength(2);
    await new ModelRiver({ apiKey: g.apiKey, baseUrl: g.url }).ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }], webhook_url: 'cli' });
    await cli.line(/^task\.completed .* 200 /);
  });
});
