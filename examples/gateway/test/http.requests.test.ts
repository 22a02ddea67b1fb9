import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { api, ask, joinAck, startAsync, startReceiver, until, type Receiver } from './e2e.helpers.js';

let gw: RunningGateway | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await gw?.close();
  await receiver?.close();
  gw = undefined;
  receiver = undefined;
});

describe('GET /v1/requests/{channel_id}', () => {
  it('logs workflow, status, times, ttft, usage, attempts, every webhook attempt and an ordered timeline', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0, webhookRetryScheduleMs: [10, 10] });
    receiver = await startReceiver();
    receiver.status = 500;
    receiver.onDelivery = () => {
      receiver!.status = 200; // the retry succeeds
    };
    const ack = await startAsync(gw, 'chat-failover', 'log me', { webhook_url: receiver.url });
    const channel = await joinAck(ack);
    await channel.terminal();
    await channel.close();
    await receiver.waitFor((_h) => receiver!.received.length === 2);
    const log = await until(async () => {
      const body = (await api(gw!, `/v1/requests/${ack.channel_id}`)).body;
      return body.webhooks[0]?.state === 'delivered' ? body : null;
    });

    expect(log).toMatchObject({
      channel_id: ack.channel_id,
      project_id: gw.projectId,
      workflow: 'chat-failover',
      status: 'success',
      created_at: expect.any(String),
      finished_at: expect.any(String),
      ttft_ms: expect.any(Number),
      duration_ms: expect.any(Number),
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
      callback: null,
      attempts: [
        expect.objectContaining({ provider: 'mock-primary', status: 'error', error: 'provider_unavailable' }),
        expect.objectContaining({ provider: 'mock-secondary', status: 'success' }),
      ],
    });
    expect(Date.parse(log.finished_at)).toBeGreaterThanOrEqual(Date.parse(log.created_at));
    expect(log.webhooks).toHaveLength(1);
    expect(log.webhooks[0]).toMatchObject({ type: 'task.completed', url: receiver.url, state: 'delivered' });
    expect(log.webhooks[0].attempts).toEqual([
      expect.objectContaining({ attempt: 1, status: 500, duration_ms: expect.any(Number) }),
      expect.objectContaining({ attempt: 2, status: 200 }),
    ]);
    const events: string[] = log.timeline.map((t: { event: string }) => t.event);
    expect(events.slice(0, 5)).toEqual(['accepted', 'status:queued', 'status:processing', 'first_token', 'attempt_failed']);
    for (const name of ['status:success', 'response', 'webhook_queued', 'webhook_attempt', 'webhook_delivered']) expect(events).toContain(name);
    const times = log.timeline.map((t: { at: string }) => Date.parse(t.at));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
  });

  it('answers 404 for an unknown or malformed channel id', async () => {
    gw = await startGateway({ port: 0 });
    expect((await api(gw, '/v1/requests/3f0a6a4e-8c1d-4a43-9d59-0b8a3c2f1e77')).status).toBe(404);
    expect((await api(gw, '/v1/requests/not-a-uuid')).body.error.code).toBe('not_found');
  });
});

describe('webhook dead letters', () => {
  it('lists a delivery that never succeeded and replays it on request', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0, webhookRetryScheduleMs: [5] });
    receiver = await startReceiver();
    receiver.status = 503;
    const ack = await startAsync(gw, 'chat', 'dead letter', { webhook_url: receiver.url });
    const dead = await until(async () => (await api(gw!, '/v1/webhooks/dead-letters')).body.dead_letters[0]);
    expect(dead).toMatchObject({ type: 'task.completed', channel_id: ack.channel_id, url: receiver.url, state: 'dead' });
    expect(dead.attempts).toHaveLength(2);
    expect((await api(gw, '/v1/webhooks/dead-letters', undefined, { apiKey: null })).status).toBe(401);

    receiver.status = 200;
    const replay = await api(gw, `/v1/webhooks/dead-letters/${dead.id}/replay`, undefined, { method: 'POST' });
    expect(replay.status).toBe(202);
    expect(replay.body.delivery.id).toBe(dead.id);
    const delivered = await receiver.waitFor((h) => receiver!.received.length === 3 && h.body['id'] === dead.id);
    expect(delivered.headers['mr-webhook-id']).toBe(dead.id);
    const log = await until(async () => {
      const body = (await api(gw!, `/v1/requests/${ack.channel_id}`)).body;
      return body.webhooks[0]?.state === 'delivered' ? body : null;
    });
    expect(log.webhooks[0].attempts.map((a: { status: number }) => a.status)).toEqual([503, 503, 200]);
    expect(log.timeline.map((t: { event: string }) => t.event)).toEqual(expect.arrayContaining(['webhook_dead', 'webhook_replayed', 'webhook_delivered']));
    expect((await api(gw, '/v1/webhooks/dead-letters')).body.dead_letters).toEqual([]);
    expect((await api(gw, '/v1/webhooks/dead-letters/evt_nope/replay', undefined, { method: 'POST' })).status).toBe(404);
    // Delivered now: no longer a dead letter, so not replayed (and the log stays delivered).
    expect((await api(gw, `/v1/webhooks/dead-letters/${dead.id}/replay`, undefined, { method: 'POST' })).status).toBe(404);
    expect((await api(gw, `/v1/requests/${ack.channel_id}`)).body.webhooks[0].state).toBe('delivered');
  });
});

describe('POST /v1/ai/reconnect', () => {
  it('answers 404 for an unknown channel and 409 channel_expired once a finished channel is dropped', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0, channelRetentionMs: 0 });
    expect((await api(gw, '/v1/ai/reconnect', { channel_id: '3f0a6a4e-8c1d-4a43-9d59-0b8a3c2f1e77' })).status).toBe(404);
    const ack = await startAsync(gw, 'chat', 'short lived');
    const expired = await until(async () => {
      const answer = await api(gw!, '/v1/ai/reconnect', { channel_id: ack.channel_id });
      return answer.status === 409 ? answer : null;
    });
    expect(expired.body.error.code).toBe('channel_expired');
  });
});

describe('Idempotency-Key', () => {
  it('replays the async ack (same channel, fresh token) and refuses the key with another body', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const body = { workflow: 'chat', messages: ask('once only') };
    const first = await api(gw, '/v1/ai/async', body, { headers: { 'idempotency-key': 'k-1' } });
    const second = await api(gw, '/v1/ai/async', body, { headers: { 'idempotency-key': 'k-1' } });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.channel_id).toBe(first.body.channel_id);
    expect(second.body.ws_token).not.toBe(first.body.ws_token);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(gw.stats().requestLogs).toBe(1);

    const other = await api(gw, '/v1/ai/async', { ...body, metadata: { x: 1 } }, { headers: { 'idempotency-key': 'k-1' } });
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_key_reused');

    // Both tokens work (the replayed one is fresh).
    const channel = await joinAck(second.body as never);
    expect((await channel.terminal()).status).toBe('success');
    await channel.close();
  });

  it('runs a sync request once for concurrent calls with the same key', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 1 });
    const body = { workflow: 'chat', messages: ask('sync once') };
    const [a, b] = await Promise.all([
      api(gw, '/v1/ai', body, { headers: { 'idempotency-key': 'sync-1' } }),
      api(gw, '/v1/ai', body, { headers: { 'idempotency-key': 'sync-1' } }),
    ]);
    expect(a.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(gw.stats().requestLogs).toBe(1);
  });
});

describe('POST /v1/ai (sync)', () => {
  it('answers 200 with status error and the error body when generation fails', async () => {
    gw = await startGateway({
      port: 0,
      mockTokenDelayMs: 0,
      workflows: { broken: { providers: [{ type: 'mock', failBeforeFirstToken: true, errorCode: 'provider_http_500' }] } },
    });
    const answer = await api(gw, '/v1/ai', { workflow: 'broken', messages: ask('x') });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: 'error', error: { code: 'provider_http_500' }, meta: { attempts: [expect.objectContaining({ status: 'error' })] } });
  });

  it('answers at ai_generated for an event-driven workflow', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const answer = await api(gw, '/v1/ai', { workflow: 'chat-event', messages: ask('sync event') });
    expect(answer.body).toMatchObject({ status: 'ai_generated', event_name: 'new_chat', ai_response: { data: { content: answer.body.content } } });
    expect((await api(gw, `/v1/callback/${answer.body.channel_id}`, { data: { done: true } })).status).toBe(200);
    expect((await api(gw, `/v1/requests/${answer.body.channel_id}`)).body.status).toBe('completed');
  });
});

describe('GET /v1/workflows', () => {
  it('lists the workflows with their providers', async () => {
    gw = await startGateway({ port: 0 });
    const answer = await api(gw, '/v1/workflows');
    expect(answer.body.workflows.map((w: { name: string }) => w.name)).toEqual(['chat', 'chat-structured', 'chat-failover', 'chat-event', 'chat-tools']);
  });
});
