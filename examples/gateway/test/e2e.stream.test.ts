import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { mockOutput } from '../src/providers/mock.js';
import { splitTokens } from '../src/providers/mock-text.js';
import { api, ask, joinAck, startAsync, until } from './e2e.helpers.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
});
afterAll(() => gw.close());

describe('async request streamed over the channel', () => {
  it('acks with the contract fields', async () => {
    const answer = await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('hello'), metadata: { user: 'u1' } });
    expect(answer.status).toBe(202);
    const ack = answer.body;
    expect(ack).toEqual({
      message: 'success',
      status: 'pending',
      channel_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      project_id: gw.projectId,
      ws_token: expect.any(String),
      websocket_url: gw.wsUrl,
      websocket_channel: `ai_response:${gw.projectId}:${ack.channel_id}`,
      customer_data: { user: 'u1' },
    });
  });

  it('streams queued → processing → tokens → success, content equal to the concatenated tokens', async () => {
    const ack = await startAsync(gw, 'chat', 'Tell me about streams', { metadata: { order: 7 } });
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();

    const statuses = channel.events.filter((e) => e.event === 'status').map((e) => e.payload['status']);
    expect(statuses.slice(0, 2)).toEqual(['queued', 'processing']);
    expect(final.status).toBe('success');
    expect(final.content).toBe(channel.text());
    expect(final.content).toBe(mockOutput({ messages: ask('Tell me about streams') }));
    expect(splitTokens(final.content ?? '').length).toBeGreaterThanOrEqual(40);
    expect(final.customer_data).toEqual({ order: 7 });
    expect(final.model).toBe('mock-1');
    expect(final.meta).toMatchObject({
      provider: 'mock',
      model: 'mock-1',
      structured_output: false,
      attempts: [{ provider: 'mock', model: 'mock-1', status: 'success' }],
      usage: { prompt_tokens: expect.any(Number), completion_tokens: expect.any(Number), total_tokens: expect.any(Number) },
    });
    expect(final.meta.ttft_ms).toBeGreaterThanOrEqual(0);
    expect(final.meta.duration_ms).toBeGreaterThanOrEqual(final.meta.ttft_ms ?? 0);
    // seq strictly increasing from 1
    const seqs = channel.events.map((e) => e.payload['seq'] as number);
    expect(seqs[0]).toBe(1);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1] as number);
  });

  it('generates before any join: a late join after the end gets everything by replay', async () => {
    const ack = await startAsync(gw, 'chat', 'late joiner');
    // Wait for the request to finish without any client.
    await until(async () => (await api(gw, `/v1/requests/${ack.channel_id}`)).body.status === 'success');
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();
    expect(final.status).toBe('success');
    expect(channel.text()).toBe(final.content);
    expect(final.content).toBe(mockOutput({ messages: ask('late joiner') }));
    expect(channel.joinReply['response']['last_seq']).toBe(final.seq);
  });

  it('fails over mid-stream with one continuous text equal to the undisturbed answer', async () => {
    const prompt = 'Explain failover';
    const ack = await startAsync(gw, 'chat-failover', prompt);
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();

    expect(final.status).toBe('success');
    expect(channel.text()).toBe(final.content);
    expect(final.content).toBe(mockOutput({ messages: ask(prompt) }));
    const failover = channel.events.find((e) => e.event === 'status' && e.payload['status'] === 'failover');
    expect(failover?.payload).toMatchObject({ provider: 'mock-secondary', reason: 'provider_unavailable', attempt: 2 });
    // The failover status comes after the primary's tokens, before the secondary's.
    const index = channel.events.indexOf(failover!);
    const tokensBefore = channel.events
      .slice(0, index)
      .filter((e) => e.event === 'tokens')
      .reduce((n, e) => n + (e.payload['seq'] - (e.payload['first_seq'] ?? e.payload['seq']) + 1), 0);
    expect(tokensBefore).toBe(6);
    expect(final.meta.attempts).toEqual([
      expect.objectContaining({ provider: 'mock-primary', status: 'error', error: 'provider_unavailable' }),
      expect.objectContaining({ provider: 'mock-secondary', status: 'success' }),
    ]);
    expect(final.meta.provider).toBe('mock-secondary');
  });

  it('returns schema-valid structured data parsed from the streamed JSON', async () => {
    const ack = await startAsync(gw, 'chat-structured', 'I love this product, thanks!');
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();
    expect(final.status).toBe('success');
    expect(final.meta.structured_output).toBe(true);
    expect(JSON.parse(channel.text())).toEqual(final.data);
    expect(final.data).toMatchObject({
      reply: expect.any(String),
      summary: expect.any(String),
      sentiment: 'positive',
      confidence: expect.any(Number),
    });
    for (const topic of (final.data as { topics: string[] }).topics) expect(['love', 'this', 'product', 'thanks']).toContain(topic);
    const data = final.data as { action_items: Array<{ task: string; priority: string }> };
    for (const item of data.action_items) expect(['high', 'medium', 'low']).toContain(item.priority);
  });

  it('streams tool-call deltas that assemble to valid JSON arguments, then the text', async () => {
    const ack = await startAsync(gw, 'chat-tools', 'What is the weather in Lisbon?');
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();
    const calls = channel.events.filter((e) => e.event === 'tool_call');
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls[0]?.payload).toMatchObject({ index: 0, name: 'get_weather', id: expect.stringMatching(/^call_/) });
    for (const c of calls.slice(1)) expect(c.payload['name']).toBeUndefined();
    const args = calls.map((c) => c.payload['arguments']).join('');
    expect(JSON.parse(args)).toEqual({ city: 'Lisbon' });
    const firstToken = channel.events.findIndex((e) => e.event === 'tokens');
    expect(firstToken).toBeGreaterThan(channel.events.indexOf(calls[calls.length - 1]!));
    expect(final.content).toBe(channel.text());
  });

  it('answers the sync endpoint with the whole result', async () => {
    const answer = await api(gw, '/v1/ai', { workflow: 'chat-structured', messages: ask('sync please'), metadata: { a: 1 } });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      status: 'success',
      channel_id: expect.any(String),
      model: 'mock-1',
      customer_data: { a: 1 },
      meta: { structured_output: true },
    });
    expect(JSON.parse(answer.body.content)).toEqual(answer.body.data);
  });

  it('reconnect gives a fresh single-use token that joins the same channel', async () => {
    const ack = await startAsync(gw, 'chat', 'reconnect me');
    const first = await joinAck(ack);
    await first.terminal();
    await first.close();
    const again = await api(gw, '/v1/ai/reconnect', { channel_id: ack.channel_id });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({
      channel_id: ack.channel_id,
      project_id: gw.projectId,
      ws_token: expect.any(String),
      websocket_url: ack.websocket_url,
      websocket_channel: ack.websocket_channel,
    });
    expect(again.body.ws_token).not.toBe(ack.ws_token);
    const resumed = await joinAck({ ...ack, ws_token: again.body.ws_token }, 3);
    const final = await resumed.terminal();
    await resumed.close();
    const firstEvent = resumed.events[0]?.payload;
    expect(firstEvent?.['first_seq'] ?? firstEvent?.['seq']).toBe(4);
    expect(final.status).toBe('success');
  });

  it('builds websocket_url from the request Host header', async () => {
    const url = new URL(gw.url);
    const body = JSON.stringify({ workflow: 'chat', messages: ask('host') });
    const ack = await new Promise<Record<string, string>>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/v1/ai/async',
          method: 'POST',
          headers: { host: 'gateway.test:9999', authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(JSON.parse(text)));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(ack['websocket_url']).toBe('ws://gateway.test:9999/socket');
  });
});
