import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { api, ask } from './e2e.helpers.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
});
afterAll(() => gw.close());

async function expectError(body: unknown, status: number, code: string, message: string | RegExp, path = '/v1/ai/async') {
  const answer = await api(gw, path, body);
  expect(answer.status).toBe(status);
  expect(answer.body.error.code).toBe(code);
  expect(answer.body.error.message).toMatch(message);
}

describe('request validation names the field', () => {
  it('rejects malformed JSON with invalid_json', async () => {
    const answer = await api(gw, '/v1/ai/async', undefined, { rawBody: '{"workflow": "chat",' });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_json');
  });

  it('rejects an empty body and a non-object body', async () => {
    const empty = await api(gw, '/v1/ai/async', undefined, { rawBody: '' , method: 'POST' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('invalid_json');
    await expectError([1, 2], 400, 'invalid_request', /JSON object/);
  });

  it('names missing and mistyped fields', async () => {
    await expectError({ messages: ask('hi') }, 400, 'missing_field', 'workflow is required');
    await expectError({ workflow: 42, messages: ask('hi') }, 400, 'invalid_field', 'workflow must be a non-empty string');
    await expectError({ workflow: 'chat' }, 400, 'missing_field', 'messages is required');
    await expectError({ workflow: 'chat', messages: [] }, 400, 'invalid_field', /messages must contain at least one/);
    await expectError({ workflow: 'chat', messages: [{ role: 'user', content: 5 }] }, 400, 'invalid_field', 'messages[0].content must be a string');
    await expectError(
      { workflow: 'chat', messages: [{ role: 'user', content: 'a' }, { content: 'b' }] },
      400,
      'missing_field',
      'messages[1].role is required',
    );
    await expectError({ workflow: 'chat', messages: ask('hi'), metadata: [1] }, 400, 'invalid_field', 'metadata must be an object');
    await expectError({ workflow: 'chat', messages: ask('hi'), webhook_url: 'ftp://x' }, 400, 'invalid_field', /webhook_url must be an absolute http/);
    await expectError({ workflow: 'chat', messages: ask('hi'), delivery_method: 'pigeon' }, 400, 'invalid_field', /delivery_method must be one of/);
    await expectError({ workflow: 'chat', messages: ask('hi'), events: ['ok', ''] }, 400, 'invalid_field', 'events[1] must be a non-empty string');
  });

  it('validates the sync endpoint the same way', async () => {
    await expectError({ workflow: 'chat', messages: [{ role: 'user', content: null }] }, 400, 'invalid_field', 'messages[0].content must be a string', '/v1/ai');
  });

  it('answers 404 workflow_not_found for an unknown workflow, listing the known ones', async () => {
    await expectError({ workflow: 'nope', messages: ask('hi') }, 404, 'workflow_not_found', /"nope" not found.*chat-structured/);
  });

  it('answers 415 for a non-JSON content type', async () => {
    const answer = await api(gw, '/v1/ai/async', undefined, {
      rawBody: 'workflow=chat',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(answer.status).toBe(415);
    expect(answer.body.error.code).toBe('unsupported_media_type');
  });

  it('accepts application/json with a charset and ignores unknown fields', async () => {
    const answer = await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hi'), future_field: true }, {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(answer.status).toBe(202);
  });

  it('validates callback and reconnect bodies', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    await expectError({}, 400, 'missing_field', 'channel_id is required', '/v1/ai/reconnect');
    await expectError({ channel_id: 'abc' }, 400, 'invalid_field', 'channel_id must be a UUID', '/v1/ai/reconnect');
    await expectError({}, 400, 'missing_field', 'data is required', `/v1/callback/${id}`);
    await expectError({ error: 'crm_down' }, 400, 'missing_field', 'message is required', `/v1/callback/${id}`);
    await expectError({ data: 1, task_id: 7 }, 400, 'invalid_field', 'task_id must be a string', `/v1/callback/${id}`);
    await expectError({ data: 1, error: 'x', message: 'y' }, 400, 'invalid_request', /either data or error/, `/v1/callback/${id}`);
  });
});
