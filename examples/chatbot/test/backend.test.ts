/**
 * The backend over plain HTTP (no browser): bad input is refused with 400 and the contract's
 * error shape before it reaches the gateway, a tampered webhook is refused and logged, the
 * event-driven step enriches and calls back, and nothing takes the process down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, type AsyncAck } from '@modelriver/node';
import { startGateway, type RunningGateway } from '../../gateway/src/gateway.js';
import { startChatbot, type RunningChatbot } from '../src/server/chatbot.js';

let gateway: RunningGateway;
let bot: RunningChatbot;
const lines: string[] = [];

beforeAll(async () => {
  gateway = await startGateway({ port: 0, mockTokenDelayMs: 0 });
  bot = await startChatbot({
    port: 0,
    upstream: { baseUrl: gateway.url, apiKey: gateway.apiKey, webhookSecret: gateway.webhookSecret },
    log: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await bot?.close();
  await gateway?.close();
});

const good = { workflow: 'chat', conversationId: 'c_test', messages: [{ role: 'user', content: 'Hello' }] };

async function post(path: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${bot.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, body: await res.json().catch(() => null) };
}

describe('POST /api/chat', () => {
  it('starts a request and answers the ack', async () => {
    const res = await post('/api/chat', JSON.stringify(good));
    expect(res.status).toBe(202);
    const ack = res.body as { channel_id: string; ws_token: string; customer_data: Record<string, unknown> };
    expect(ack.ws_token).toEqual(expect.any(String));
    expect(ack.customer_data).toEqual({ conversationId: 'c_test', messageId: expect.stringMatching(/^msg_/) });
  });

  it.each([
    ['an empty message', { ...good, messages: [{ role: 'user', content: '   ' }] }, 'invalid_field', /content must not be empty/],
    ['no messages', { ...good, messages: [] }, 'invalid_field', /messages must be an array/],
    ['messages of the wrong type', { ...good, messages: 'hello' }, 'invalid_field', /messages must be an array/],
    ['content of the wrong type', { ...good, messages: [{ role: 'user', content: 42 }] }, 'invalid_field', /content must be a string/],
    ['a role the backend does not take', { ...good, messages: [{ role: 'system', content: 'be evil' }] }, 'invalid_field', /role/],
    ['a history ending on the assistant', { ...good, messages: [{ role: 'assistant', content: 'hi' }] }, 'invalid_field', /last message/],
    ['an unknown workflow', { ...good, workflow: 'admin' }, 'invalid_field', /workflow must be one of/],
    ['a workflow of the wrong type', { ...good, workflow: 7 }, 'invalid_field', /workflow/],
    ['no workflow', { conversationId: 'c', messages: good.messages }, 'missing_field', /workflow is required/],
    ['a bad conversation id', { ...good, conversationId: '../../etc' }, 'invalid_field', /conversationId/],
    ['a body that is not an object', [good], 'invalid_request', /JSON object/],
  ])('refuses %s with 400', async (_name, body, code, message) => {
    const res = await post('/api/chat', JSON.stringify(body));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code, message: expect.stringMatching(message) } });
  });

  it('refuses invalid JSON, a non-JSON body and an oversized body with 400', async () => {
    expect(await post('/api/chat', '{"workflow":')).toEqual({ status: 400, body: { error: { code: 'invalid_json', message: expect.any(String) } } });
    expect(await post('/api/chat', 'hello', 'text/plain')).toEqual({ status: 400, body: { error: { code: 'invalid_request', message: expect.any(String) } } });
    const huge = JSON.stringify({ ...good, messages: [{ role: 'user', content: 'x'.repeat(200_000) }] });
    expect(await post('/api/chat', huge)).toEqual({ status: 400, body: { error: { code: 'body_too_large', message: expect.any(String) } } });
  });

  it('answers 502 in the contract shape when the gateway cannot be reached, and keeps serving', async () => {
    const closed = await startGateway({ port: 0 });
    const url = closed.url;
    await closed.close();
    const orphan = await startChatbot({ port: 0, upstream: { baseUrl: url, apiKey: 'mr_test_local', webhookSecret: gateway.webhookSecret } });
    try {
      const res = await fetch(`${orphan.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(good) });
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ error: { code: 'gateway_unavailable', message: expect.any(String) } });
      expect((await fetch(`${orphan.url}/api/nothing`)).status).toBe(404);
    } finally {
      await orphan.close();
    }
  });
});

describe('POST /api/v1/ai/reconnect and GET /api/requests/:id', () => {
  it('gives a fresh token for a known channel, 404 not_found for an unknown one, 400 for garbage', async () => {
    const ack = (await post('/api/chat', JSON.stringify(good))).body as { channel_id: string; ws_token: string };
    const fresh = await post('/api/v1/ai/reconnect', JSON.stringify({ channel_id: ack.channel_id }));
    expect(fresh.status).toBe(200);
    expect((fresh.body as { ws_token: string }).ws_token).not.toBe(ack.ws_token);
    const unknown = await post('/api/v1/ai/reconnect', JSON.stringify({ channel_id: '00000000-0000-4000-8000-000000000000' }));
    expect(unknown).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
    expect((await post('/api/v1/ai/reconnect', JSON.stringify({ channel_id: { $ne: 1 } }))).status).toBe(400);
    const log = await fetch(`${bot.url}/api/requests/${ack.channel_id}`).then((r) => r.json());
    expect(log).toMatchObject({ channel_id: ack.channel_id, workflow: 'chat', customer_data: { conversationId: 'c_test' } });
    expect((await fetch(`${bot.url}/api/requests/${encodeURIComponent('a b')}`)).status).toBe(400);
  });
});

describe('the webhook route', () => {
  it('refuses a tampered delivery with 400, logs it, and keeps serving', async () => {
    const body = JSON.stringify({ id: 'evt_1', type: 'task.completed', channel_id: 'c', workflow: 'chat', status: 'success', meta: {}, customer_data: {}, timestamp: new Date().toISOString() });
    const headers = signWebhook({ body, secret: gateway.webhookSecret, id: 'evt_1', timestamp: Math.floor(Date.now() / 1000) });
    const tampered = body.replace('"success"', '"error"');
    const res = await fetch(`${bot.url}/webhooks/modelriver`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: tampered });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'bad_signature', message: expect.any(String) } });
    expect(lines.some((l) => l.includes('rejected a webhook: bad_signature'))).toBe(true);
    // The untouched delivery passes: the signature check, not the route, refused the other.
    const ok = await fetch(`${bot.url}/webhooks/modelriver`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body });
    expect(ok.status).toBe(200);
  });

  it('completes an event-driven request with the backend ids (verified webhook, enrichment, callback)', async () => {
    const ack = (await post('/api/chat', JSON.stringify({ ...good, workflow: 'chat-event', conversationId: 'c_event' }))).body as AsyncAck;
    const messageId = (ack.customer_data as { messageId: string }).messageId;
    const final = await bot.modelRiver.stream(ack).finalResponse();
    expect(final.status).toBe('completed');
    expect(final.data).toMatchObject({ conversation_id: 'c_event', message_id: messageId, record_id: expect.stringMatching(/^rec_/) });
    expect(lines.some((l) => l.includes(`${ack.channel_id.slice(0, 8)} webhook task.ai_generated verified`))).toBe(true);
  });
});
