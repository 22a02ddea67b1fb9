import { ModelRiver } from '@modelriver/node';
import type { WebSocketConstructor } from '@modelriver/client';
import { resolveCliConfig, type CliConfig } from './config.js';
import type { SocketFactory, ListenerTimers } from './listener.js';
import type { Output } from './output.js';

/** The environment a command runs in: everything a test may want to replace. */
export interface CliEnvironment {
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  isTTY: boolean;
  fetch?: typeof fetch;
  /** Ends long-running commands (`listen`, `watch`) as Ctrl-C does. */
  signal?: AbortSignal;
  createSocket?: SocketFactory;
  /** For `watch`'s channel client. Default: the `ws` package. */
  WebSocket?: WebSocketConstructor;
  timers?: ListenerTimers;
  /** Epoch ms, for durations. Default `Date.now`. */
  now?: () => number;
}

/** What every command gets. */
export interface CommandContext {
  environment: CliEnvironment;
  output: Output;
  flags: { apiKey?: string; baseUrl?: string };
}

/**
 * The resolved key and base URL (throws a usage CliError when the key is missing).
 *
 * @example
 * ```ts
 * const { baseUrl } = configOf(ctx);
 * ```
 */
export function configOf(ctx: CommandContext): CliConfig {
  return resolveCliConfig(ctx.flags, ctx.environment.env);
}

/**
 * A `@modelriver/node` client for the resolved config (one retry: a CLI answers fast or says why).
 *
 * @example
 * ```ts
 * const ack = await clientOf(ctx).ai.async({ workflow: 'chat', messages });
 * ```
 */
export function clientOf(ctx: CommandContext): ModelRiver {
  const config = configOf(ctx);
  return new ModelRiver({
    apiKey: config.apiKey,
    baseUrl: config.baseUrl,
    maxRetries: 1,
    timeoutMs: 30_000,
    ...(ctx.environment.fetch ? { fetch: ctx.environment.fetch } : {}),
  });
}
