import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMockProvider, mockOutput, type MockProviderOptions } from '../src/providers/mock.js';
import { mockCity, splitTokens } from '../src/providers/mock-text.js';
import { ProviderError, type ProviderChunk, type ProviderRequest } from '../src/providers/provider.js';
import { createSchemaCompiler } from '../src/runner/structured-output.js';
import { BUILTIN_WORKFLOWS } from '../src/workflows.js';

const ask = (content: string) => [{ role: 'user', content }];
const STRUCTURED = BUILTIN_WORKFLOWS['chat-structured']!.schema!;

async function collect(options: MockProviderOptions, request: Partial<ProviderRequest> & { prompt?: string }) {
  const provider = createMockProvider({ tokenDelayMs: 0, ...options });
  const chunks: ProviderChunk[] = [];
  let error: unknown;
  try {
    for await (const chunk of provider.stream({ messages: ask(request.prompt ?? 'hi'), signal: new AbortController().signal, ...request })) {
      chunks.push(chunk);
    }
  } catch (err) {
    error = err;
  }
  const text = chunks.flatMap((c) => (c.type === 'text' ? [c.delta] : [])).join('');
  return { chunks, text, error, texts: chunks.filter((c) => c.type === 'text') };
}

afterEach(() => vi.useRealTimers());

describe('mock text', () => {
  it('is a deterministic function of the last user message, at least 40 tokens of word pieces with their leading space', async () => {
    const a = await collect({}, { messages: [{ role: 'system', content: 'be nice' }, ...ask('same prompt')] });
    const b = await collect({}, { prompt: 'same prompt' });
    const c = await collect({}, { prompt: 'another prompt' });
    expect(a.text).toBe(b.text);
    expect(a.text).not.toBe(c.text);
    expect(a.texts.length).toBeGreaterThanOrEqual(40);
    for (const chunk of a.texts.slice(1)) expect((chunk as { delta: string }).delta).toMatch(/^\s?\S+$/);
    expect(a.text).toMatch(/^[A-Z].*\.$/);
  });

  it('splitTokens always joins back to its input', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), (text) => splitTokens(text).join('') === text));
  });

  it('continues after any prefix of its own text (also mid-token) with exactly the rest', async () => {
    const prompts = fc.string({ minLength: 0, maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(prompts, fc.nat(), fc.boolean(), async (prompt, cut, structured) => {
        const request = { messages: ask(prompt), ...(structured ? { schema: STRUCTURED } : {}) };
        const full = mockOutput(request);
        const prefix = full.slice(0, cut % (full.length + 1));
        const rest = await collect({}, { ...request, prefix });
        expect(prefix + rest.text).toBe(full);
      }),
      { numRuns: 60 },
    );
  });

  it('emits usage at the end', async () => {
    const { chunks } = await collect({}, { prompt: 'usage' });
    const usage = chunks.at(-1);
    expect(usage?.type).toBe('usage');
    if (usage?.type === 'usage') {
      expect(usage.usage.completion_tokens).toBe(chunks.length - 1);
      expect(usage.usage.total_tokens).toBe(usage.usage.prompt_tokens + usage.usage.completion_tokens);
    }
  });

  it('waits tokenDelayMs between tokens on the injected timers', async () => {
    vi.useFakeTimers();
    const provider = createMockProvider({ tokenDelayMs: 30 });
    const iterator = provider.stream({ messages: ask('timed'), signal: new AbortController().signal })[Symbol.asyncIterator]();
    let got = false;
    const next = iterator.next().then(() => (got = true));
    await vi.advanceTimersByTimeAsync(29);
    expect(got).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await next;
    expect(got).toBe(true);
  });
});

describe('structured mock output', () => {
  const validate = createSchemaCompiler()(STRUCTURED);

  it('satisfies the chat-structured schema for any prompt', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (prompt) => {
        const data: unknown = JSON.parse(mockOutput({ messages: ask(prompt), schema: STRUCTURED }));
        expect(validate.errors ?? null, JSON.stringify(data)).toBeNull();
        return validate(data);
      }),
      { numRuns: 100 },
    );
  });

  it('follows the prompt tone for sentiment', () => {
    const tone = (prompt: string) => (JSON.parse(mockOutput({ messages: ask(prompt), schema: STRUCTURED })) as { sentiment: string }).sentiment;
    expect(tone('I love it, thanks')).toBe('positive');
    expect(tone('This is broken and I am angry')).toBe('negative');
  });

  it('emits non-JSON with invalidJson', async () => {
    const { text } = await collect({ invalidJson: true }, { schema: STRUCTURED });
    expect(() => JSON.parse(text)).toThrow();
  });
});

describe('scripted faults', () => {
  it('failBeforeFirstToken throws a ProviderError before any chunk', async () => {
    const { chunks, error } = await collect({ failBeforeFirstToken: true, errorCode: 'provider_http_500' }, {});
    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('provider_http_500');
  });

  it('failAfterTokens: N emits exactly N tokens, then throws', async () => {
    const { texts, error } = await collect({ failAfterTokens: 4 }, {});
    expect(texts).toHaveLength(4);
    expect((error as ProviderError).code).toBe('provider_unavailable');
  });

  it('stallAfterTokens: N goes silent after N tokens until aborted', async () => {
    const controller = new AbortController();
    const provider = createMockProvider({ tokenDelayMs: 0, stallAfterTokens: 2 });
    const iterator = provider.stream({ messages: ask('x'), signal: controller.signal })[Symbol.asyncIterator]();
    await iterator.next();
    await iterator.next();
    const third = iterator.next();
    let settled = false;
    void third.then(() => (settled = true), () => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    controller.abort();
    await expect(third).rejects.toBeInstanceOf(ProviderError);
  });

  it('toolCalls streams one call in several deltas (id and name on the first) before the text', async () => {
    const { chunks } = await collect({ toolCalls: true }, { prompt: 'What is the weather in Porto Alegre today?' });
    const calls = chunks.filter((c): c is Extract<ProviderChunk, { type: 'tool_call' }> => c.type === 'tool_call');
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls[0]).toMatchObject({ index: 0, name: 'get_weather', id: expect.stringMatching(/^call_/) });
    expect(calls.slice(1).every((c) => c.name === undefined && c.id === undefined)).toBe(true);
    expect(JSON.parse(calls.map((c) => c.arguments).join(''))).toEqual({ city: 'Porto Alegre' });
    expect(chunks.findIndex((c) => c.type === 'text')).toBe(calls.length);
    expect(mockCity('no city here')).toBe('Paris');
  });

  it('a continuation (non-empty prefix) does not repeat the tool call', async () => {
    const { chunks } = await collect({ toolCalls: true }, { prefix: mockOutput({ messages: ask('hi') }).slice(0, 10) });
    expect(chunks.some((c) => c.type === 'tool_call')).toBe(false);
  });
});
