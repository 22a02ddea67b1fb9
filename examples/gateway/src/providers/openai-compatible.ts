/**
 * A provider for any OpenAI-compatible Chat Completions endpoint (OpenAI, Azure-style proxies,
 * vLLM, Ollama, LM Studio, llama.cpp server…), streamed over SSE: the chunk mapper, the provider
 * itself and `providersFromEnv`. The SSE decoder and the prefix-echo filter are their own modules.
 */
import type { Usage } from '@modelriver/client';
import type { ChatMessage } from '@modelriver/node';
import { fetchFailureCause, isPlainObject } from '../values.js';
import { createPrefixEchoFilter, CONTINUE_INSTRUCTION } from './prefix-echo.js';
import { ProviderError, type Provider, type ProviderChunk, type ProviderRequest, type ToolSpec } from './provider.js';
import { SseDecoder } from './sse.js';

export { SseDecoder } from './sse.js';
export { CONTINUE_INSTRUCTION, createPrefixEchoFilter, type PrefixEchoFilter } from './prefix-echo.js';

type JsonObject = Record<string, unknown>;

/** What one Chat Completions chunk (or a whole non-streamed answer) carries for us. */
export interface MappedChunk {
  text?: string;
  toolCalls: Array<Extract<ProviderChunk, { type: 'tool_call' }>>;
  usage?: Usage;
  finished: boolean;
}

/**
 * Maps one parsed Chat Completions stream chunk (`choices[0].delta`) or a non-streamed answer
 * (`choices[0].message`) to provider chunks.
 *
 * @example
 * ```ts
 * mapCompletionChunk({ choices: [{ delta: { content: 'Hi' } }] }); // { text: 'Hi', toolCalls: [], finished: false }
 * ```
 */
export function mapCompletionChunk(chunk: unknown): MappedChunk {
  if (!isPlainObject(chunk)) throw new ProviderError('provider_bad_response', 'stream chunk is not a JSON object');
  if (chunk.error !== undefined && chunk.error !== null) {
    const err = chunk.error;
    const message = isPlainObject(err) && typeof err.message === 'string' ? err.message : JSON.stringify(err);
    throw new ProviderError('provider_unavailable', `upstream error in stream: ${message}`);
  }
  const out: MappedChunk = { toolCalls: [], finished: false };
  const choices = chunk.choices;
  const choice = Array.isArray(choices) ? (choices[0] as unknown) : undefined;
  if (isPlainObject(choice)) {
    const delta = isPlainObject(choice.delta) ? choice.delta : isPlainObject(choice.message) ? choice.message : undefined;
    if (delta && typeof delta.content === 'string' && delta.content.length > 0) out.text = delta.content;
    if (delta && Array.isArray(delta.tool_calls)) {
      delta.tool_calls.forEach((call: unknown, position: number) => {
        if (!isPlainObject(call)) throw new ProviderError('provider_bad_response', 'tool_calls entry is not an object');
        const fn = isPlainObject(call.function) ? call.function : {};
        const index = Number.isInteger(call.index) && (call.index as number) >= 0 ? (call.index as number) : position;
        const piece: Extract<ProviderChunk, { type: 'tool_call' }> = {
          type: 'tool_call',
          index,
          arguments: typeof fn.arguments === 'string' ? fn.arguments : '',
        };
        if (typeof call.id === 'string' && call.id.length > 0) piece.id = call.id;
        if (typeof fn.name === 'string' && fn.name.length > 0) piece.name = fn.name;
        out.toolCalls.push(piece);
      });
    }
    if (typeof choice.finish_reason === 'string') out.finished = true;
  }
  const usage = chunk.usage;
  if (isPlainObject(usage) && typeof usage.prompt_tokens === 'number' && typeof usage.completion_tokens === 'number') {
    out.usage = {
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens + usage.completion_tokens,
    };
  }
  return out;
}

/** Options of {@link createOpenAICompatibleProvider}. */
export interface OpenAICompatibleOptions {
  /** `https://api.openai.com`, `http://localhost:11434` or the same with `/v1`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` when given (local servers often need none). */
  apiKey?: string;
  model: string;
  fetch?: typeof fetch;
  /** Shown in `meta.provider` and the request log. Default `openai-compatible`. */
  name?: string;
}

/**
 * The Chat Completions URL for a base URL given with or without a trailing `/v1`.
 *
 * @example
 * ```ts
 * chatCompletionsUrl('https://api.openai.com'); // 'https://api.openai.com/v1/chat/completions'
 * chatCompletionsUrl('http://localhost:11434/v1/'); // 'http://localhost:11434/v1/chat/completions'
 * ```
 */
export function chatCompletionsUrl(baseUrl: string): string {
  const trimmed = baseUrl.trim().replace(/\/+$/, '');
  return /\/v1$/i.test(trimmed) ? `${trimmed}/chat/completions` : `${trimmed}/v1/chat/completions`;
}

/**
 * The Chat Completions request body for one provider request: streaming with usage, tools in
 * OpenAI's function shape, a schema as `response_format`, and a failover prefix as an
 * assistant message followed by {@link CONTINUE_INSTRUCTION}.
 *
 * @example
 * ```ts
 * buildChatCompletionsBody('gpt-4o-mini', { messages: [{ role: 'user', content: 'Hi' }] });
 * // { model: 'gpt-4o-mini', messages: [...], stream: true, stream_options: { include_usage: true } }
 * ```
 */
export function buildChatCompletionsBody(model: string, request: Omit<ProviderRequest, 'signal'>): JsonObject {
  const messages: ChatMessage[] = request.messages.map((m) => ({ role: m.role, content: m.content }));
  if (request.prefix) {
    messages.push({ role: 'assistant', content: request.prefix }, { role: 'user', content: CONTINUE_INSTRUCTION });
  }
  const body: JsonObject = { model, messages, stream: true, stream_options: { include_usage: true } };
  if (request.tools && request.tools.length > 0) body.tools = request.tools.map(toOpenAITool);
  if (request.schema) body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: request.schema, strict: false } };
  return body;
}

function toOpenAITool(tool: ToolSpec): JsonObject {
  const fn: JsonObject = { name: tool.name, parameters: tool.parameters };
  if (tool.description !== undefined) fn.description = tool.description;
  return { type: 'function', function: fn };
}

/** Error bodies are read only this far: enough for the message, bounded for a hostile server. */
const MAX_ERROR_BODY_BYTES = 16 * 1024;

/**
 * Creates a {@link Provider} that streams from an OpenAI-compatible `/v1/chat/completions`.
 * Text deltas come from `choices[0].delta.content`, tool-call deltas from
 * `choices[0].delta.tool_calls[]`, usage from the final chunk (`stream_options.include_usage`).
 * With `request.prefix` (mid-stream failover) the text so far is sent as an assistant message
 * followed by an instruction to continue, and an echoed prefix is stripped from the output.
 *
 * Failures throw a `ProviderError`: `provider_auth` (401/403), `provider_http_<status>`,
 * `provider_unavailable` (network, connection lost, stream cut before `[DONE]`),
 * `provider_bad_response` (malformed SSE JSON). An aborted `signal` stops the request and the
 * stream rethrows the signal's reason (an `AbortError` by default), like `fetch` does.
 *
 * @throws ProviderError `provider_config` when `baseUrl` or `model` is unusable.
 *
 * @example
 * ```ts
 * const provider = createOpenAICompatibleProvider({ baseUrl: 'http://localhost:11434', model: 'llama3.2' });
 * const controller = new AbortController();
 * for await (const chunk of provider.stream({ messages: [{ role: 'user', content: 'Hi' }], signal: controller.signal })) {
 *   if (chunk.type === 'text') process.stdout.write(chunk.delta);
 * }
 * ```
 */
export function createOpenAICompatibleProvider(options: OpenAICompatibleOptions): Provider {
  const name = options.name ?? 'openai-compatible';
  if (typeof options.model !== 'string' || options.model.trim().length === 0) {
    throw new ProviderError('provider_config', `${name}: model must be a non-empty string`);
  }
  let url: URL;
  try {
    url = new URL(chatCompletionsUrl(String(options.baseUrl)));
  } catch {
    throw new ProviderError('provider_config', `${name}: baseUrl is not a valid URL: ${String(options.baseUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProviderError('provider_config', `${name}: baseUrl must be http(s), got ${url.protocol}`);
  }
  const model = options.model;
  const endpoint = url.toString();
  const apiKey = options.apiKey;
  // Upstream messages sometimes quote the key they were given; never pass it on.
  const redact = (text: string): string => (apiKey ? text.split(apiKey).join('[redacted]') : text);

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderChunk> {
    const { signal } = request;
    throwIfAborted(signal);
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const fetchImpl = options.fetch ?? globalThis.fetch;

    let res: Response;
    try {
      res = await fetchImpl(endpoint, { method: 'POST', headers, body: JSON.stringify(buildChatCompletionsBody(model, request)), signal });
    } catch (err) {
      throwIfAborted(signal);
      throw new ProviderError('provider_unavailable', `${name}: could not reach ${url.origin}: ${redact(describeError(err))}`);
    }

    if (!res.ok) {
      const detail = redact(await readErrorDetail(res));
      throwIfAborted(signal);
      const code = res.status === 401 || res.status === 403 ? 'provider_auth' : `provider_http_${res.status}`;
      throw new ProviderError(code, `${name}: HTTP ${res.status} from ${url.origin}${url.pathname}${detail ? `: ${detail}` : ''}`);
    }

    const echo = createPrefixEchoFilter(request.prefix ?? '');
    const emit = function* (mapped: MappedChunk): Generator<ProviderChunk> {
      if (mapped.text !== undefined) {
        const delta = echo.push(mapped.text);
        if (delta.length > 0) yield { type: 'text', delta };
      }
      for (const call of mapped.toolCalls) yield call;
      if (mapped.usage) yield { type: 'usage', usage: mapped.usage };
    };

    // A server that ignored `stream: true` answers one JSON document; take it whole.
    if ((res.headers.get('content-type') ?? '').toLowerCase().includes('application/json')) {
      let parsed: unknown;
      try {
        parsed = await res.json();
      } catch (err) {
        throwIfAborted(signal);
        throw new ProviderError('provider_bad_response', `${name}: response is not valid JSON (${describeError(err)})`);
      }
      yield* emit(mapCompletionChunk(parsed));
      const rest = echo.flush();
      if (rest.length > 0) yield { type: 'text', delta: rest };
      return;
    }

    if (!res.body) throw new ProviderError('provider_bad_response', `${name}: response has no body`);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const sse = new SseDecoder();
    let sawDone = false;
    let sawFinish = false;
    try {
      while (!sawDone) {
        let read: ReadableStreamReadResult<Uint8Array>;
        try {
          read = await reader.read();
        } catch (err) {
          throwIfAborted(signal);
          throw new ProviderError('provider_unavailable', `${name}: connection lost mid-stream: ${redact(describeError(err))}`);
        }
        const events = read.done ? [...sse.push(decoder.decode()), ...sse.end()] : sse.push(decoder.decode(read.value, { stream: true }));
        for (const data of events) {
          if (data.trim() === '[DONE]') {
            sawDone = true;
            break;
          }
          let parsed: unknown;
          try {
            parsed = JSON.parse(data);
          } catch {
            throw new ProviderError('provider_bad_response', `${name}: malformed JSON in SSE event: ${truncate(data, 200)}`);
          }
          const mapped = mapCompletionChunk(parsed);
          if (mapped.finished) sawFinish = true;
          throwIfAborted(signal);
          yield* emit(mapped);
        }
        if (read.done) break;
      }
      // A stream cut before its end must fail (and fail over), not pass for a complete answer.
      if (!sawDone && !sawFinish) {
        throw new ProviderError('provider_unavailable', `${name}: stream ended before [DONE]`);
      }
      const rest = echo.flush();
      if (rest.length > 0) yield { type: 'text', delta: rest };
    } finally {
      // Also runs when the consumer stops early: release the connection.
      reader.cancel().catch(() => undefined);
    }
  }

  return { name, model, stream };
}

function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof Error ? reason : new ProviderError('provider_aborted', 'request aborted');
}

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code } = fetchFailureCause(err);
  return code === undefined ? err.message : `${err.message} (${code})`;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Reads a bounded amount of an error body and extracts `error.message` when it is JSON. */
async function readErrorDetail(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.byteLength;
    }
  } catch {
    // The status is what matters; a body cut short only loses detail.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const text = new TextDecoder().decode(Buffer.concat(parts).subarray(0, MAX_ERROR_BODY_BYTES)).trim();
  try {
    const parsed: unknown = JSON.parse(text);
    if (isPlainObject(parsed)) {
      const err = parsed.error;
      if (isPlainObject(err) && typeof err.message === 'string') return truncate(err.message, 500);
      if (typeof err === 'string') return truncate(err, 500);
      if (typeof parsed.message === 'string') return truncate(parsed.message, 500);
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return truncate(text, 500);
}

/**
 * The real providers configured by environment variables, in order: OpenAI when
 * `OPENAI_API_KEY` is set (`OPENAI_BASE_URL` default `https://api.openai.com`, `OPENAI_MODEL`
 * default `gpt-4o-mini`), then an OpenAI-compatible server when `OPENAI_COMPATIBLE_BASE_URL`
 * is set (`OPENAI_COMPATIBLE_API_KEY` optional, `OPENAI_COMPATIBLE_MODEL` required). Empty
 * values count as unset. Returns `[]` when nothing is configured, so the mock stays the default.
 *
 * @throws ProviderError `provider_config` when a configured provider cannot work (bad URL, no model).
 *
 * @example
 * ```ts
 * const providers = providersFromEnv(process.env); // [] or [openai, openai-compatible]
 * ```
 */
export function providersFromEnv(env: Record<string, string | undefined>, options: { fetch?: typeof fetch } = {}): Provider[] {
  const get = (key: string): string | undefined => {
    const value = env[key]?.trim();
    return value ? value : undefined;
  };
  const providers: Provider[] = [];
  const openaiKey = get('OPENAI_API_KEY');
  if (openaiKey) {
    providers.push(
      createOpenAICompatibleProvider({
        name: 'openai',
        baseUrl: get('OPENAI_BASE_URL') ?? 'https://api.openai.com',
        apiKey: openaiKey,
        model: get('OPENAI_MODEL') ?? 'gpt-4o-mini',
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    );
  }
  const compatibleUrl = get('OPENAI_COMPATIBLE_BASE_URL');
  if (compatibleUrl) {
    const model = get('OPENAI_COMPATIBLE_MODEL');
    if (!model) {
      throw new ProviderError('provider_config', 'OPENAI_COMPATIBLE_MODEL is required when OPENAI_COMPATIBLE_BASE_URL is set');
    }
    const apiKey = get('OPENAI_COMPATIBLE_API_KEY');
    providers.push(
      createOpenAICompatibleProvider({
        name: 'openai-compatible',
        baseUrl: compatibleUrl,
        model,
        ...(apiKey ? { apiKey } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    );
  }
  return providers;
}
