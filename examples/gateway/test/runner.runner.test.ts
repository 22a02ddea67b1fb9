import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { quietLogger } from '../src/logger.js';
import { createMockProvider, mockOutput, type MockProviderOptions } from '../src/providers/mock.js';
import { ProviderError, type Provider, type ProviderChunk } from '../src/providers/provider.js';
import { RequestStore } from '../src/runner/request-store.js';
import { Runner } from '../src/runner/runner.js';
import { createSchemaCompiler } from '../src/runner/structured-output.js';
import { systemTimers } from '../src/timers.js';
import { BUILTIN_WORKFLOWS, type Workflow } from '../src/workflows.js';
import { createFakeDispatcher, createFakeHub } from './runner.fakes.js';

const ask = (content: string) => [{ role: 'user', content }];
const mock = (options: MockProviderOptions = {}) => createMockProvider({ tokenDelayMs: 0, ...options });
const STRUCTURED = BUILTIN_WORKFLOWS['chat-structured']!.schema!;

interface SetupOptions {
  providers: Provider[];
  schema?: Record<string, unknown>;
  event?: string;
  retries?: number;
  stallTimeoutMs?: number;
  callbackTimeoutMs?: number;
}

function setup(options: SetupOptions) {
  const hub = createFakeHub();
  const dispatcher = createFakeDispatcher();
  const store = new RequestStore(60_000, () => Date.now());
  const runner = new Runner({
    hub,
    dispatcher,
    store,
    stallTimeoutMs: options.stallTimeoutMs ?? 10_000,
    callbackTimeoutMs: options.callbackTimeoutMs ?? 300_000,
    structuredOutputRetries: options.retries ?? 1,
    timers: systemTimers,
    now: () => Date.now(),
    logger: quietLogger,
  });
  const workflow: Workflow = {
    name: 'test-workflow',
    description: '',
    providers: options.providers,
    schema: options.schema ?? null,
    validate: options.schema ? createSchemaCompiler()(options.schema) : null,
    event: options.event ?? null,
    tools: [],
  };
  const start = (prompt: string, extra: { webhookUrl?: string; events?: string[] } = {}) => {
    const id = randomUUID();
    const started = runner.start(
      id,
      { workflow, messages: ask(prompt), metadata: { m: 1 }, webhookUrl: extra.webhookUrl ?? null, events: extra.events ?? [] },
      'async',
      'http://gw.test',
    );
    return { id, channel: hub.channels.get(id)!, ...started };
  };
  return { hub, dispatcher, store, runner, start };
}

const statuses = (events: Array<{ event: string; payload: Record<string, any> }>) =>
  events.filter((e) => e.event === 'status').map((e) => e.payload);

afterEach(() => {
  vi.useRealTimers();
});

describe('failover', () => {
  it('moves on before the first token without a prefix', async () => {
    const { start } = setup({ providers: [mock({ name: 'a', failBeforeFirstToken: true }), mock({ name: 'b' })] });
    const { channel, firstResponse } = start('hello');
    const final = await firstResponse;
    expect(final.status).toBe('success');
    expect(final.content).toBe(mockOutput({ messages: ask('hello') }));
    expect(statuses(channel.events).map((s) => s['status'])).toEqual(['queued', 'processing', 'failover']);
    expect(final.meta.attempts?.map((a) => [a.provider, a.status, a.error])).toEqual([
      ['a', 'error', 'provider_unavailable'],
      ['b', 'success', undefined],
    ]);
  });

  it.each([1, 5, 17, 40])('continues after %i tokens with exactly the undisturbed text', async (n) => {
    const { channel, firstResponse } = setup({ providers: [mock({ name: 'a', failAfterTokens: n }), mock({ name: 'b' })] }).start('continuity');
    const final = await firstResponse;
    expect(channel.text()).toBe(mockOutput({ messages: ask('continuity') }));
    expect(final.content).toBe(channel.text());
    expect(statuses(channel.events).find((s) => s['status'] === 'failover')).toMatchObject({ provider: 'b', attempt: 2, reason: 'provider_unavailable' });
  });

  it('fails over a stalled provider after the stall timeout (fake timers)', async () => {
    vi.useFakeTimers();
    const { channel, firstResponse } = setup({
      providers: [mock({ name: 'a', stallAfterTokens: 3 }), mock({ name: 'b' })],
      stallTimeoutMs: 2_000,
    }).start('stall');
    await vi.advanceTimersByTimeAsync(1_999);
    expect(channel.events.some((e) => e.event === 'response')).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const final = await firstResponse;
    expect(final.status).toBe('success');
    expect(channel.text()).toBe(mockOutput({ messages: ask('stall') }));
    expect(final.meta.attempts?.[0]).toMatchObject({ provider: 'a', status: 'error', error: 'provider_stalled' });
  });

  it('ends with the last error when every provider fails', async () => {
    const { channel, firstResponse } = setup({
      providers: [mock({ name: 'a', failAfterTokens: 2 }), mock({ name: 'b', failBeforeFirstToken: true, errorCode: 'provider_http_503' })],
    }).start('doomed');
    const final = await firstResponse;
    expect(final.status).toBe('error');
    expect(final.error).toEqual({ code: 'provider_http_503', message: expect.stringContaining('all 2 attempts failed') });
    // What was streamed stays the content: the client saw it.
    expect(final.content).toBe(channel.text());
    expect(channel.finished).toBe(true);
  });

  it('maps non-ProviderError failures (plain errors, synchronous throws) to provider_error', async () => {
    const throwsSync: Provider = {
      name: 'sync-thrower',
      model: 'x',
      stream() {
        throw new Error('boom');
      },
    };
    const final = await setup({ providers: [throwsSync] }).start('x').firstResponse;
    expect(final.status).toBe('error');
    expect(final.error).toEqual({ code: 'provider_error', message: 'boom' });
  });

  it('gives a retried tool call a new index instead of appending to the broken one', async () => {
    const halfCall: Provider = {
      name: 'half',
      model: 'x',
      async *stream(): AsyncGenerator<ProviderChunk> {
        yield { type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', arguments: '{"ci' };
        throw new ProviderError('provider_unavailable', 'cut');
      },
    };
    const { channel, firstResponse } = setup({ providers: [halfCall, mock({ name: 'b', toolCalls: true })] }).start('weather in Oslo');
    await firstResponse;
    const calls = channel.events.filter((e) => e.event === 'tool_call').map((e) => e.payload);
    expect(calls[0]).toMatchObject({ index: 0, arguments: '{"ci' });
    const second = calls.filter((c) => c['index'] === 1);
    expect(JSON.parse(second.map((c) => c['arguments']).join(''))).toEqual({ city: 'Oslo' });
  });
});

describe('structured output', () => {
  it('parses valid output into data', async () => {
    const final = await setup({ providers: [mock()], schema: STRUCTURED }).start('data please').firstResponse;
    expect(final.status).toBe('success');
    expect(final.data).toEqual(JSON.parse(final.content ?? ''));
    expect(final.meta.structured_output).toBe(true);
  });

  it('retries invalid output on the next provider when there is one', async () => {
    const { channel, firstResponse } = setup({ providers: [mock({ name: 'a', invalidJson: true }), mock({ name: 'b' })], schema: STRUCTURED }).start('retry');
    const final = await firstResponse;
    expect(final.status).toBe('success');
    expect(final.meta.attempts?.map((a) => [a.provider, a.status, a.error])).toEqual([
      ['a', 'error', 'invalid_structured_output'],
      ['b', 'success', undefined],
    ]);
    expect(statuses(channel.events).find((s) => s['status'] === 'failover')).toMatchObject({ provider: 'b', reason: 'invalid_structured_output' });
    // The wire has no "reset": content stays the concatenated tokens, data comes from the valid attempt.
    expect(final.content).toBe(channel.text());
    expect(final.data).toEqual(JSON.parse(mockOutput({ messages: ask('retry'), schema: STRUCTURED })));
  });

  it('retries the same provider once when it is the only one, then ends with invalid_structured_output', async () => {
    const { channel, firstResponse } = setup({ providers: [mock({ name: 'a', invalidJson: true })], schema: STRUCTURED, retries: 1 }).start('bad');
    const final = await firstResponse;
    expect(final.status).toBe('error');
    expect(final.error?.code).toBe('invalid_structured_output');
    expect(final.error?.message).toMatch(/not valid JSON/);
    expect(final.meta.attempts?.map((a) => a.provider)).toEqual(['a', 'a']);
    expect(statuses(channel.events).filter((s) => s['status'] === 'processing').map((s) => s['reason'])).toEqual([undefined, 'invalid_structured_output']);
  });

  it('does not retry with structuredOutputRetries 0', async () => {
    const final = await setup({ providers: [mock({ invalidJson: true }), mock()], schema: STRUCTURED, retries: 0 }).start('once').firstResponse;
    expect(final.error?.code).toBe('invalid_structured_output');
    expect(final.meta.attempts).toHaveLength(1);
  });

  it('reports schema violations, not only JSON syntax errors', async () => {
    const schema = { type: 'object', required: ['missing_field'], properties: { missing_field: { type: 'string' } } };
    const liar: Provider = {
      name: 'liar',
      model: 'x',
      async *stream(): AsyncGenerator<ProviderChunk> {
        yield { type: 'text', delta: '{"other": 1}' };
      },
    };
    const final = await setup({ providers: [liar], schema, retries: 0 }).start('x').firstResponse;
    expect(final.error).toEqual({ code: 'invalid_structured_output', message: expect.stringContaining("must have required property 'missing_field'") });
  });
});

describe('cancel and callbacks', () => {
  it('cancel aborts the provider and ends cancelled with the text so far', async () => {
    vi.useFakeTimers();
    const { channel, firstResponse } = setup({ providers: [createMockProvider({ tokenDelayMs: 100 })] }).start('slow');
    await vi.advanceTimersByTimeAsync(350);
    const sofar = channel.text();
    expect(sofar.length).toBeGreaterThan(0);
    channel.cancel();
    const final = await firstResponse;
    expect(final.status).toBe('cancelled');
    expect(final.content).toBe(sofar);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(channel.text()).toBe(sofar);
    expect(channel.events.filter((e) => e.event === 'response')).toHaveLength(1);
  });

  it('times out the callback after callbackTimeoutMs (fake timers), with a task.failed webhook', async () => {
    vi.useFakeTimers();
    const { start, dispatcher, store } = setup({ providers: [mock()], event: 'new_chat', callbackTimeoutMs: 60_000 });
    const { id, channel, firstResponse } = start('wait', { webhookUrl: 'http://hooks.test/x' });
    const generated = await firstResponse;
    expect(generated.status).toBe('ai_generated');
    await vi.advanceTimersByTimeAsync(59_999);
    expect(channel.finished).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(channel.finished).toBe(true);
    expect(channel.response()).toMatchObject({ status: 'error', error: { code: 'callback_timeout' } });
    expect(dispatcher.sent.map((s) => s.body.type)).toEqual(['task.ai_generated', 'task.failed']);
    expect(store.get(id)?.toLog().callback).toMatchObject({ status: 'timed_out' });
  });

  it('builds webhook bodies with the contract fields', async () => {
    const { start, dispatcher } = setup({ providers: [mock()], event: 'new_chat' });
    const { id, firstResponse } = start('hook', { webhookUrl: 'http://hooks.test/x' });
    await firstResponse;
    const body = dispatcher.sent[0]!.body as unknown as Record<string, unknown>;
    expect(body).toMatchObject({
      id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      type: 'task.ai_generated',
      workflow: 'test-workflow',
      status: 'ai_generated',
      channel_id: id,
      event: 'new_chat',
      callback_url: `http://gw.test/v1/callback/${id}`,
      callback_required: true,
      customer_data: { m: 1 },
      meta: { provider: 'mock', attempts: [expect.objectContaining({ status: 'success' })] },
    });
    expect(dispatcher.sent[0]!.channelId).toBe(id);
  });

  it('applies a data callback once; a second is a 409', async () => {
    const { start, runner } = setup({ providers: [mock()], event: 'e' });
    const { id, channel, firstResponse } = start('cb');
    await firstResponse;
    runner.callback(id, { data: { ok: true }, task_id: 't' });
    expect(channel.response()).toMatchObject({ status: 'completed', data: { ok: true }, task_id: 't', event_name: 'e' });
    await expect(runner.routeCallback(id, { data: 1 })).rejects.toMatchObject({ status: 409, code: 'invalid_state' });
  });

  it('refuses a callback while still generating (409)', async () => {
    vi.useFakeTimers();
    const { start, runner } = setup({ providers: [createMockProvider({ tokenDelayMs: 100 })], event: 'e' });
    const { id } = start('early');
    await vi.advanceTimersByTimeAsync(150);
    expect(() => runner.callback(id, { data: 1 })).toThrowError(expect.objectContaining({ status: 409, message: expect.stringContaining('processing') }));
    runner.close();
  });
});
