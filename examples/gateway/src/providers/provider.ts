import type { Usage } from '@modelriver/client';
import type { ChatMessage } from '@modelriver/node';

/** A tool the model may call (OpenAI function shape). */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters: Record<string, unknown>;
}

/** What a provider is asked to generate. */
export interface ProviderRequest {
  messages: ChatMessage[];
  /** JSON Schema the output must satisfy, when the workflow has one. */
  schema?: Record<string, unknown>;
  tools?: ToolSpec[];
  /**
   * Text already delivered to the client by an earlier provider (mid-stream failover):
   * the provider continues after it and must not repeat it.
   */
  prefix?: string;
  signal: AbortSignal;
}

/** One piece of a provider's stream. */
export type ProviderChunk =
  | { type: 'text'; delta: string }
  | { type: 'tool_call'; index: number; id?: string; name?: string; arguments: string }
  | { type: 'usage'; usage: Usage };

/** A model backend. `stream` throws a ProviderError (or any error) on failure. */
export interface Provider {
  readonly name: string;
  readonly model: string;
  stream(request: ProviderRequest): AsyncIterable<ProviderChunk>;
}

/** A provider failure with a stable code (e.g. `provider_unavailable`, `provider_stalled`). */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
