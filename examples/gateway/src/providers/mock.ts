/**
 * The embedded mock model: deterministic text (or schema-shaped JSON) derived from the prompt,
 * streamed token by token with a configurable delay, plus scripted faults so failover, stalls,
 * invalid structured output and tool calls can be demonstrated and tested without any real model.
 */
import type { Usage } from '@modelriver/client';
import type { ChatMessage } from '@modelriver/node';
import { sleep, systemTimers, type Timers } from '../timers.js';
import { hashString, mockAnswerText, mockCity, mockStructuredValue, splitTokens } from './mock-text.js';
import { ProviderError, type Provider, type ProviderChunk, type ProviderRequest } from './provider.js';

/** Scripted misbehaviour, settable per workflow provider in the configuration. */
export interface MockFaults {
  /** Throw before emitting anything. */
  failBeforeFirstToken?: boolean;
  /** Throw after emitting this many text tokens. */
  failAfterTokens?: number;
  /** Emit this many text tokens, then nothing more (the runner's stall timeout takes over). */
  stallAfterTokens?: number;
  /** With a schema, emit text that is not valid JSON. */
  invalidJson?: boolean;
  /** Stream one tool call (split into several argument deltas) before the text. */
  toolCalls?: boolean;
  /** Code of the scripted failures. Default `provider_unavailable`. */
  errorCode?: string;
}

/** Options of {@link createMockProvider}. */
export interface MockProviderOptions extends MockFaults {
  /** Default `mock`. */
  name?: string;
  /** Default `mock-1`. */
  model?: string;
  /** Delay before each token (0 = as fast as possible). Default 30. */
  tokenDelayMs?: number;
  /** Minimum number of text tokens of a plain-text answer. Default 48. */
  minTokens?: number;
  timers?: Timers;
}

/** Delay-0 streams still yield to the event loop this often, so a long answer never starves I/O. */
const YIELD_EVERY = 64;

/**
 * The prompt the mock answers: the last user message (or the last message of any role).
 *
 * @example
 * ```ts
 * promptOf([{ role: 'system', content: 'Be brief' }, { role: 'user', content: 'Hi' }]); // 'Hi'
 * ```
 */
export function promptOf(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === 'user') return messages[i]?.content ?? '';
  }
  return messages[messages.length - 1]?.content ?? '';
}

/**
 * The full text the mock produces for a request, before any fault: what an undisturbed run streams.
 *
 * @example
 * ```ts
 * const text = mockOutput({ messages: [{ role: 'user', content: 'Hi' }] }, { minTokens: 48 });
 * ```
 */
export function mockOutput(
  request: Pick<ProviderRequest, 'messages' | 'schema'>,
  options: Pick<MockProviderOptions, 'minTokens' | 'invalidJson'> = {},
): string {
  const prompt = promptOf(request.messages);
  if (request.schema) {
    const json = JSON.stringify(mockStructuredValue(request.schema, prompt), null, 2);
    return options.invalidJson ? `Sure! Here is the JSON you asked for:\n${json}` : json;
  }
  return mockAnswerText(prompt, options.minTokens ?? 48);
}

/**
 * The tokens still to send after `prefix`: when the prefix is a start of the full text (the normal
 * failover case) the continuation picks up exactly where it stopped, even mid-token.
 */
function continuation(tokens: string[], prefix: string): string[] {
  if (!prefix) return tokens;
  // A prefix from another model cannot be continued: answer anew after it.
  if (!tokens.join('').startsWith(prefix)) return tokens;
  let offset = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as string;
    if (offset === prefix.length) return tokens.slice(i);
    if (offset + token.length > prefix.length) return [token.slice(prefix.length - offset), ...tokens.slice(i + 1)];
    offset += token.length;
  }
  return [];
}

function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/**
 * Creates the mock provider.
 *
 * @example
 * ```ts
 * const mock = createMockProvider({ tokenDelayMs: 0 });
 * for await (const chunk of mock.stream({ messages: [{ role: 'user', content: 'Hi' }], signal })) {
 *   if (chunk.type === 'text') process.stdout.write(chunk.delta);
 * }
 * ```
 */
export function createMockProvider(options: MockProviderOptions = {}): Provider {
  const name = options.name ?? 'mock';
  const model = options.model ?? 'mock-1';
  const delay = options.tokenDelayMs ?? 30;
  const timers = options.timers ?? systemTimers;
  const errorCode = options.errorCode ?? 'provider_unavailable';

  async function wait(signal: AbortSignal, index: number): Promise<void> {
    if (delay > 0) await sleep(timers, delay, signal);
    else if (index > 0 && index % YIELD_EVERY === 0) await sleep(timers, 0, signal);
    if (signal.aborted) throw abortError(signal);
  }

  async function* stream(request: ProviderRequest): AsyncGenerator<ProviderChunk> {
    const { signal } = request;
    if (signal.aborted) throw abortError(signal);
    if (options.failBeforeFirstToken) {
      await wait(signal, 0);
      throw new ProviderError(errorCode, `${name}: scripted failure before the first token`);
    }
    const prompt = promptOf(request.messages);
    const prefix = request.prefix ?? '';
    let step = 0;

    // Tool calls come before the text; a continuation (non-empty prefix) has already sent them.
    if (options.toolCalls && !prefix) {
      const tool = request.tools?.[0]?.name ?? 'get_weather';
      const args = JSON.stringify({ city: mockCity(prompt) });
      const id = `call_${hashString(`${tool}:${prompt}`).toString(16)}`;
      const cut1 = Math.min(args.length, 2);
      const cut2 = Math.min(args.length, Math.max(cut1, args.length - 4));
      const pieces = [args.slice(0, cut1), args.slice(cut1, cut2), args.slice(cut2)].filter((p) => p.length > 0);
      for (let i = 0; i < pieces.length; i++) {
        await wait(signal, step++);
        yield i === 0
          ? { type: 'tool_call', index: 0, id, name: tool, arguments: pieces[i] as string }
          : { type: 'tool_call', index: 0, arguments: pieces[i] as string };
      }
    }

    const full = mockOutput(request, { minTokens: options.minTokens ?? 48, invalidJson: options.invalidJson ?? false });
    const tokens = continuation(splitTokens(full), prefix);
    let sent = 0;
    for (const token of tokens) {
      if (options.failAfterTokens !== undefined && sent >= options.failAfterTokens) {
        throw new ProviderError(errorCode, `${name}: scripted failure after ${sent} tokens`);
      }
      if (options.stallAfterTokens !== undefined && sent >= options.stallAfterTokens) {
        // Goes silent, as a hung upstream would, until the runner gives up and aborts.
        await new Promise<never>((_, reject) => {
          if (signal.aborted) reject(abortError(signal));
          signal.addEventListener('abort', () => reject(abortError(signal)), { once: true });
        });
      }
      await wait(signal, step++);
      yield { type: 'text', delta: token };
      sent++;
    }
    const completion = step;
    const promptTokens = request.messages.reduce((sum, m) => sum + estimateTokens(m.content), 0) + estimateTokens(prefix);
    const usage: Usage = { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
    yield { type: 'usage', usage };
  }

  return { name, model, stream };
}

function abortError(signal: AbortSignal): ProviderError {
  const reason = signal.reason as unknown;
  return reason instanceof ProviderError ? reason : new ProviderError('aborted', 'the request was aborted');
}
