import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CONTINUE_INSTRUCTION,
  SseDecoder,
  chatCompletionsUrl,
  createOpenAICompatibleProvider,
  createPrefixEchoFilter,
  providersFromEnv,
} from '../src/providers/openai-compatible.js';
import { ProviderError, type ProviderChunk, type ProviderRequest } from '../src/providers/provider.js';

// ------------------------------------------------------------------------------------------
// A fake OpenAI-compatible server on 127.0.0.1:0
// ------------------------------------------------------------------------------------------

interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Resolves when the client closes the connection. */
  closed: Promise<void>;
}

type Handler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

interface FakeServer {
  baseUrl: string;
  seen: SeenRequest[];
  handler: Handler;
  close(): Promise<void>;
}

async function startFakeServer(): Promise<FakeServer> {
  const fake: FakeServer = {
    baseUrl: '',
    seen: [],
    handler: (_req, res) => void res.end(),
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
        closed: new Promise((resolve) => res.on('close', () => resolve())),
      };
      fake.seen.push(seen);
      void fake.handler(seen, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** Writes `bytes` in pieces of the given sizes (cycled), each flushed before the next. */
async function writeInPieces(res: ServerResponse, bytes: Buffer, sizes: number[]): Promise<void> {
  let pos = 0;
  for (let i = 0; pos < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    const piece = bytes.subarray(pos, pos + size);
    pos += size;
    await new Promise<void>((resolve) => res.write(piece, () => resolve()));
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

function sseHead(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
}

const textChunk = (content: string): string => JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content } }] });
const finishChunk = (): string => JSON.stringify({ id: 'c1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
const usageChunk = (prompt: number, completion: number): string =>
  JSON.stringify({ id: 'c1', choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion } });

function sse(datas: string[], eol = '\n'): string {
  return datas.map((d) => `data: ${d}${eol}${eol}`).join('');
}

function request(overrides: Partial<ProviderRequest> = {}): ProviderRequest {
  return { messages: [{ role: 'user', content: 'Say hello' }], signal: new AbortController().signal, ...overrides };
}

async function collect(iterable: AsyncIterable<ProviderChunk>): Promise<ProviderChunk[]> {
  const out: ProviderChunk[] = [];
  for await (const chunk of iterable) out.push(chunk);
  return out;
}

async function failure(iterable: AsyncIterable<ProviderChunk>): Promise<{ error: unknown; chunks: ProviderChunk[] }> {
  const chunks: ProviderChunk[] = [];
  try {
    for await (const chunk of iterable) chunks.push(chunk);
  } catch (error) {
    return { error, chunks };
  }
  throw new Error('expected the stream to fail');
}

const textOf = (chunks: ProviderChunk[]): string => chunks.map((c) => (c.type === 'text' ? c.delta : '')).join('');

// ------------------------------------------------------------------------------------------

describe('openai-compatible provider against a fake SSE server', () => {
  let fake: FakeServer;
  beforeEach(async () => {
    fake = await startFakeServer();
  });
  afterEach(async () => {
    await fake.close();
  });

  it('sends a streaming chat request and parses text split at awkward byte boundaries (CRLF, comments, UTF-8)', async () => {
    const pieces = ['Hé', 'llo, ', 'wörld ', '🚀', ' done'];
    const body =
      ': OPENROUTER PROCESSING\r\n\r\n' +
      'event: message\r\nid: 1\r\n' +
      sse(pieces.map(textChunk), '\r\n') +
      '\r\n\r\n' +
      `data: ${finishChunk()}\r\n\r\n` +
      `data: ${usageChunk(7, 5)}\r\n\r\n` +
      'data: [DONE]\r\n\r\n';
    fake.handler = async (_req, res) => {
      sseHead(res);
      // 1-3 byte pieces split "data:", CR from LF, and every multi-byte character.
      await writeInPieces(res, Buffer.from(body, 'utf8'), [1, 2, 3]);
      res.end();
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: 'sk-test-123', model: 'gpt-test' });
    expect(provider.name).toBe('openai-compatible');
    expect(provider.model).toBe('gpt-test');

    const chunks = await collect(provider.stream(request()));
    expect(chunks).toEqual([
      ...pieces.map((delta) => ({ type: 'text', delta })),
      { type: 'usage', usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 } },
    ]);

    const seen = fake.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-test-123');
    expect(seen.headers['content-type']).toBe('application/json');
    expect(seen.body).toEqual({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('accepts a base URL with or without /v1 and sends no Authorization without a key', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.end(sse([textChunk('ok'), '[DONE]']));
    };
    for (const baseUrl of [fake.baseUrl, `${fake.baseUrl}/`, `${fake.baseUrl}/v1`, `${fake.baseUrl}/v1/`]) {
      const provider = createOpenAICompatibleProvider({ baseUrl, model: 'm' });
      expect(textOf(await collect(provider.stream(request())))).toBe('ok');
    }
    expect(fake.seen.map((s) => s.path)).toEqual(Array(4).fill('/v1/chat/completions'));
    expect(fake.seen.every((s) => s.headers.authorization === undefined)).toBe(true);
  });

  it('streams tool-call deltas and sends tools and the schema in OpenAI shape', async () => {
    const toolDelta = (calls: unknown[]): string => JSON.stringify({ choices: [{ index: 0, delta: { tool_calls: calls } }] });
    fake.handler = async (_req, res) => {
      sseHead(res);
      const body = sse([
        JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: null } }] }),
        toolDelta([{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }]),
        toolDelta([{ index: 0, function: { arguments: '{"ci' } }]),
        toolDelta([{ index: 0, function: { arguments: 'ty": "Pa' } }]),
        toolDelta([{ index: 0, function: { arguments: 'ris"}' } }]),
        toolDelta([{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }]),
        JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }),
        usageChunk(20, 10),
        '[DONE]',
      ]);
      await writeInPieces(res, Buffer.from(body), [17, 5]);
      res.end();
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    const tools = [{ name: 'get_weather', description: 'Weather by city', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const chunks = await collect(provider.stream(request({ tools, schema })));

    expect(chunks.filter((c) => c.type === 'text')).toEqual([]);
    const calls = chunks.filter((c): c is Extract<ProviderChunk, { type: 'tool_call' }> => c.type === 'tool_call');
    expect(calls[0]).toEqual({ type: 'tool_call', index: 0, id: 'call_a', name: 'get_weather', arguments: '' });
    expect(calls[1]).toEqual({ type: 'tool_call', index: 0, arguments: '{"ci' });
    const argsOf = (i: number): string => calls.filter((c) => c.index === i).map((c) => c.arguments).join('');
    expect(JSON.parse(argsOf(0))).toEqual({ city: 'Paris' });
    expect(calls.find((c) => c.index === 1)).toMatchObject({ id: 'call_b', name: 'get_time' });
    expect(chunks.at(-1)).toEqual({ type: 'usage', usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 } });

    const sent = fake.seen[0]!.body;
    expect(sent.tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: 'Weather by city', parameters: tools[0]!.parameters } },
    ]);
    expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'output', schema, strict: false } });
  });

  it('ends at [DONE] even when the server keeps the connection open', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.write(sse([textChunk('a'), textChunk('b'), '[DONE]']));
      // never ends the response
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    expect(textOf(await collect(provider.stream(request())))).toBe('ab');
    // The provider released the connection instead of waiting for more.
    await fake.seen[0]!.closed;
  });

  it('fails with provider_unavailable when the stream is cut before [DONE] or a finish_reason', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.end(sse([textChunk('partial')]));
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const { error, chunks } = await failure(provider.stream(request()));
    expect(textOf(chunks)).toBe('partial');
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('provider_unavailable');

    // A server that omits [DONE] but finished the choice is complete.
    fake.handler = (_req, res) => {
      sseHead(res);
      res.end(sse([textChunk('whole'), finishChunk()]));
    };
    expect(textOf(await collect(provider.stream(request())))).toBe('whole');
  });

  it('maps HTTP 500 and 429 to provider_http_<status> with the upstream message', async () => {
    let status = 500;
    fake.handler = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'The server had an error', type: 'server_error' } }));
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    for (const s of [500, 429, 404]) {
      status = s;
      const { error } = await failure(provider.stream(request()));
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe(`provider_http_${s}`);
      expect((error as ProviderError).message).toContain('The server had an error');
    }
  });

  it('maps 401 and 403 to provider_auth without leaking the key', async () => {
    const key = 'sk-secret-abcdef123456';
    let status = 401;
    fake.handler = (_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${key}`, code: 'invalid_api_key' } }));
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, apiKey: key, model: 'm' });
    for (const s of [401, 403]) {
      status = s;
      const { error } = await failure(provider.stream(request()));
      expect((error as ProviderError).code).toBe('provider_auth');
      expect((error as ProviderError).message).toContain('Incorrect API key provided');
      expect(JSON.stringify({ m: (error as Error).message, s: (error as Error).stack })).not.toContain(key);
    }
  });

  it('fails with provider_bad_response on a malformed SSE JSON line, after the good text', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.end(`data: ${textChunk('good')}\n\ndata: {"choices": [ oops\n\n` + sse([textChunk('never'), '[DONE]']));
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const { error, chunks } = await failure(provider.stream(request()));
    expect(textOf(chunks)).toBe('good');
    expect((error as ProviderError).code).toBe('provider_bad_response');
  });

  it('turns an error event inside the stream into provider_unavailable', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.end(sse([textChunk('a'), JSON.stringify({ error: { message: 'upstream overloaded', code: 502 } })]));
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const { error } = await failure(provider.stream(request()));
    expect((error as ProviderError).code).toBe('provider_unavailable');
    expect((error as ProviderError).message).toContain('upstream overloaded');
  });

  it('stops mid-stream when the signal aborts and closes the connection', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.write(sse([textChunk('first')]));
      // then nothing: only the client's abort ends this
    };
    const controller = new AbortController();
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const chunks: ProviderChunk[] = [];
    let error: unknown;
    try {
      for await (const chunk of provider.stream(request({ signal: controller.signal }))) {
        chunks.push(chunk);
        controller.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(textOf(chunks)).toBe('first');
    expect((error as Error).name).toBe('AbortError');
    await fake.seen[0]!.closed;
  });

  it('rethrows the abort reason the caller gave, and makes no request when already aborted', async () => {
    const controller = new AbortController();
    const reason = new ProviderError('provider_stalled', 'no chunk for 10 s');
    controller.abort(reason);
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const { error } = await failure(provider.stream(request({ signal: controller.signal })));
    expect(error).toBe(reason);
    expect(fake.seen).toHaveLength(0);
  });

  it('continues after a prefix: sends it as an assistant message and strips an echo', async () => {
    const prefix = 'The quick brown fox jumps over the la';
    fake.handler = async (_req, res) => {
      sseHead(res);
      const echoed = ['The quick ', 'brown fox jumps over the la', 'zy dog.'];
      await writeInPieces(res, Buffer.from(sse([...echoed.map(textChunk), finishChunk(), '[DONE]'])), [9]);
      res.end();
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const chunks = await collect(provider.stream(request({ prefix })));
    expect(textOf(chunks)).toBe('zy dog.');
    expect(fake.seen[0]!.body.messages).toEqual([
      { role: 'user', content: 'Say hello' },
      { role: 'assistant', content: prefix },
      { role: 'user', content: CONTINUE_INSTRUCTION },
    ]);
  });

  it('passes a well-behaved continuation through untouched', async () => {
    fake.handler = (_req, res) => {
      sseHead(res);
      res.end(sse([textChunk('zy'), textChunk(' dog.'), '[DONE]']));
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    const chunks = await collect(provider.stream(request({ prefix: 'The quick brown fox jumps over the la' })));
    expect(chunks).toEqual([
      { type: 'text', delta: 'zy' },
      { type: 'text', delta: ' dog.' },
    ]);
  });

  it('accepts a server that ignores stream:true and answers one JSON document', async () => {
    fake.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 },
        }),
      );
    };
    const provider = createOpenAICompatibleProvider({ baseUrl: fake.baseUrl, model: 'm' });
    expect(await collect(provider.stream(request()))).toEqual([
      { type: 'text', delta: 'Hello!' },
      { type: 'usage', usage: { prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 } },
    ]);
  });
});

describe('openai-compatible provider: network and configuration errors', () => {
  it('maps an unreachable server to provider_unavailable', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    const provider = createOpenAICompatibleProvider({ baseUrl: `http://127.0.0.1:${port}`, model: 'm' });
    const { error } = await failure(provider.stream(request()));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('provider_unavailable');
    expect((error as ProviderError).message).toContain('ECONNREFUSED');
  });

  it('refuses an unusable base URL or model with provider_config', () => {
    const code = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (err) {
        return err instanceof ProviderError ? err.code : 'not a ProviderError';
      }
      return undefined;
    };
    expect(code(() => createOpenAICompatibleProvider({ baseUrl: 'not a url', model: 'm' }))).toBe('provider_config');
    expect(code(() => createOpenAICompatibleProvider({ baseUrl: 'file:///tmp', model: 'm' }))).toBe('provider_config');
    expect(code(() => createOpenAICompatibleProvider({ baseUrl: 'http://x', model: ' ' }))).toBe('provider_config');
  });

  it('builds the completions URL from any base', () => {
    expect(chatCompletionsUrl('https://api.openai.com')).toBe('https://api.openai.com/v1/chat/completions');
    expect(chatCompletionsUrl('https://api.openai.com/v1')).toBe('https://api.openai.com/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/proxy/v1//')).toBe('http://h:1/proxy/v1/chat/completions');
    expect(chatCompletionsUrl('http://h:1/proxy')).toBe('http://h:1/proxy/v1/chat/completions');
  });
});

describe('providersFromEnv', () => {
  const urls: string[] = [];
  const headers: Array<Record<string, string>> = [];
  const recordingFetch = (async (url: string | URL | Request, init?: RequestInit) => {
    urls.push(String(url));
    headers.push(init?.headers as Record<string, string>);
    return new Response(sse([textChunk('x'), '[DONE]']), { headers: { 'content-type': 'text/event-stream' } });
  }) as typeof fetch;
  beforeEach(() => {
    urls.length = 0;
    headers.length = 0;
  });

  it('returns nothing when no provider is configured (the mock stays the default)', () => {
    expect(providersFromEnv({})).toEqual([]);
    expect(providersFromEnv({ OPENAI_API_KEY: '', OPENAI_COMPATIBLE_BASE_URL: '  ', OPENAI_MODEL: 'gpt-4o' })).toEqual([]);
  });

  it('configures OpenAI from OPENAI_API_KEY with defaults', async () => {
    const [openai, ...rest] = providersFromEnv({ OPENAI_API_KEY: 'sk-env' }, { fetch: recordingFetch });
    expect(rest).toEqual([]);
    expect([openai?.name, openai?.model]).toEqual(['openai', 'gpt-4o-mini']);
    await collect(openai!.stream(request()));
    expect(urls).toEqual(['https://api.openai.com/v1/chat/completions']);
    expect(headers[0]?.authorization).toBe('Bearer sk-env');
  });

  it('configures both, OpenAI first, honouring base URLs, models and keys', async () => {
    const providers = providersFromEnv(
      {
        OPENAI_API_KEY: 'sk-env',
        OPENAI_BASE_URL: 'https://proxy.example/v1',
        OPENAI_MODEL: 'gpt-4o',
        OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:11434',
        OPENAI_COMPATIBLE_MODEL: 'llama3.2',
      },
      { fetch: recordingFetch },
    );
    expect(providers.map((p) => [p.name, p.model])).toEqual([
      ['openai', 'gpt-4o'],
      ['openai-compatible', 'llama3.2'],
    ]);
    for (const p of providers) await collect(p.stream(request()));
    expect(urls).toEqual(['https://proxy.example/v1/chat/completions', 'http://127.0.0.1:11434/v1/chat/completions']);
    expect(headers[1]?.authorization).toBeUndefined();

    const [compatible] = providersFromEnv(
      { OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:1234/v1', OPENAI_COMPATIBLE_MODEL: 'qwen', OPENAI_COMPATIBLE_API_KEY: 'lm-key' },
      { fetch: recordingFetch },
    );
    await collect(compatible!.stream(request()));
    expect(headers[2]?.authorization).toBe('Bearer lm-key');
  });

  it('refuses a compatible base URL without a model', () => {
    expect(() => providersFromEnv({ OPENAI_COMPATIBLE_BASE_URL: 'http://127.0.0.1:1234' })).toThrow(
      expect.objectContaining({ code: 'provider_config', message: expect.stringContaining('OPENAI_COMPATIBLE_MODEL') }),
    );
  });
});

describe('SSE decoding and prefix echo (units and properties)', () => {
  it('decodes any split of any mix of line endings to the same events', () => {
    const payload = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !/[\r\n]/.test(s));
    fc.assert(
      fc.property(
        fc.array(fc.array(payload, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (events, eol, comments, cuts) => {
          const text = events
            .map((lines) => (comments ? `: ping${eol}` : '') + lines.map((l) => `data: ${l}${eol}`).join('') + eol)
            .join('');
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const decoder = new SseDecoder();
          const out: string[] = [];
          let last = 0;
          for (const p of [...points, text.length]) {
            out.push(...decoder.push(text.slice(last, p)));
            last = p;
          }
          out.push(...decoder.end());
          expect(out).toEqual(events.map((lines) => lines.join('\n')));
        },
      ),
    );
  });

  it('keeps a value without the optional space, and flushes an unterminated last event', () => {
    const d = new SseDecoder();
    expect(d.push('data:{"a":1}\n\n: comment\ndata')).toEqual(['{"a":1}']);
    expect(d.push(': tail')).toEqual([]);
    expect(d.end()).toEqual(['tail']);
    expect(d.end()).toEqual([]);
  });

  it('provider output is the same whatever the byte chunking (injected fetch)', async () => {
    const deltas = ['Grüße ', '— ', '日本語 ', '🚀🚀', ' end'];
    const bytes = Buffer.from(sse([...deltas.map(textChunk), finishChunk(), usageChunk(1, 2), '[DONE]'], '\r\n'), 'utf8');
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), async (sizes) => {
        const fetchImpl = (async () => {
          let pos = 0;
          let i = 0;
          const body = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (pos >= bytes.length) return controller.close();
              const size = sizes[i++ % sizes.length]!;
              controller.enqueue(new Uint8Array(bytes.subarray(pos, pos + size)));
              pos += size;
            },
          });
          return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
        }) as typeof fetch;
        const provider = createOpenAICompatibleProvider({ baseUrl: 'http://fake.invalid', model: 'm', fetch: fetchImpl });
        const chunks = await collect(provider.stream(request()));
        expect(chunks).toEqual([...deltas.map((delta) => ({ type: 'text', delta })), { type: 'usage', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }]);
      }),
      { numRuns: 60 },
    );
  });

  it('echo filter: strips a full echo, a long tail echo, keeps short overlaps and real text', () => {
    const run = (prefix: string, pieces: string[]): string => {
      const f = createPrefixEchoFilter(prefix);
      return pieces.map((p) => f.push(p)).join('') + f.flush();
    };
    const prefix = 'The quick brown fox jumps over the lazy dog and then';
    expect(run(prefix, ['The quick brown fox jumps over the lazy dog and then', ' it slept.'])).toBe(' it slept.');
    expect(run(prefix, ['over the lazy dog and then', ' it slept.'])).toBe(' it slept.');
    // "and then" is only 8 characters: too short to call it an echo.
    expect(run(prefix, ['and then', ' more'])).toBe('and then more');
    expect(run(prefix, ['The quick brown cat'])).toBe('The quick brown cat');
    expect(run(prefix, [' it slept.'])).toBe(' it slept.');
    // Ended while still looking like a partial echo: nothing is lost.
    expect(run(prefix, ['The quick'])).toBe('The quick');
    expect(run('', ['anything'])).toBe('anything');
    expect(run('Hi', ['Hi', ' there'])).toBe(' there');
  });

  it('echo filter: output is always the input minus an echoed suffix of the prefix, for any chunking', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), fc.nat({ max: 40 }), fc.array(fc.nat(), { maxLength: 6 }), (prefix, rest, tail, cuts) => {
        const echoStart = Math.max(0, prefix.length - tail);
        const input = prefix.slice(echoStart) + rest;
        const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const f = createPrefixEchoFilter(prefix);
        let out = '';
        let last = 0;
        for (const p of [...points, input.length]) {
          out += f.push(input.slice(last, p));
          last = p;
        }
        out += f.flush();
        expect(input.endsWith(out)).toBe(true);
        const removed = input.slice(0, input.length - out.length);
        expect(removed === '' || prefix.endsWith(removed)).toBe(true);
        // A full echo is always removed.
        if (echoStart === 0 && prefix.length > 0) expect(out).toBe(rest);
      }),
    );
  });
});
