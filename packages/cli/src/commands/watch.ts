import type { AsyncAck, ReconnectAnswer, StreamEvent } from '@modelriver/node';
import { CliError, toCliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { clientOf, configOf, type CommandContext } from '../context.js';
import { formatMs, type Output } from '../output.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks a channel id argument (a UUID) so a typo is a usage error, not a 404.
 *
 * @example
 * ```ts
 * requireChannelId('0b6b7d2a-3c1e-4b8f-8d2e-6a9c1f3e5b7d');
 * ```
 */
export function requireChannelId(value: string): string {
  if (!UUID.test(value)) {
    throw new CliError('invalid_channel_id', `"${value}" is not a channel id: pass the channel_id printed by modelriver trigger (a UUID)`, ExitCode.usage);
  }
  return value;
}

/**
 * `modelriver watch <channel_id>` (alias `websocket`): a fresh token from the reconnect endpoint,
 * then the request streamed with `@modelriver/client` until its final response. Exit 0 for
 * `success`/`completed`, 1 for `error`/`cancelled`.
 *
 * @example
 * ```ts
 * const code = await watch(ctx, channelId);
 * ```
 */
export async function watch(ctx: CommandContext, channelId: string): Promise<number> {
  requireChannelId(channelId);
  const config = configOf(ctx);
  const client = clientOf(ctx);
  let grant: ReconnectAnswer;
  try {
    grant = await client.ai.reconnect(channelId);
  } catch (err) {
    const error = toCliError(err, config.baseUrl);
    if (error.code === 'channel_expired') {
      throw new CliError('channel_expired', `${error.message}; read what happened with modelriver logs ${channelId}`, ExitCode.notFound, { cause: err });
    }
    throw error;
  }
  return streamAck(ctx, grant);
}

/**
 * Streams an ack (or reconnect answer) to the output; shared by `watch` and `trigger --watch`.
 *
 * @example
 * ```ts
 * const code = await streamAck(ctx, ack);
 * ```
 */
export async function streamAck(ctx: CommandContext, ack: AsyncAck | ReconnectAnswer): Promise<number> {
  const { output, environment } = ctx;
  const config = configOf(ctx);
  const stream = clientOf(ctx).stream(ack, {
    ...(environment.signal ? { signal: environment.signal } : {}),
    ...(environment.WebSocket ? { WebSocket: environment.WebSocket } : {}),
  });
  let final: StreamEvent | null = null;
  try {
    for await (const event of stream) {
      show(output, event);
      if (event.type === 'response') final = event;
    }
  } catch (err) {
    if ((err as { isAbort?: boolean }).isAbort === true) {
      output.endLine();
      return ExitCode.ok;
    }
    throw toCliError(err, config.baseUrl);
  }
  output.endLine();
  if (final === null || final.type !== 'response') return ExitCode.failed;
  return final.payload.status === 'success' || final.payload.status === 'completed' ? ExitCode.ok : ExitCode.failed;
}

function show(output: Output, event: StreamEvent): void {
  switch (event.type) {
    case 'tokens':
      output.record({ type: 'tokens', seq: event.payload.seq, delta: event.payload.delta }, null);
      output.inline(event.payload.delta);
      return;
    case 'status': {
      const p = event.payload;
      const where = p.provider ? ` (${p.provider}${p.model ? `/${p.model}` : ''})` : '';
      output.record({ type: 'status', ...p }, output.paint(p.status === 'failover' ? 'yellow' : 'gray', `· ${p.status}${where}${p.reason ? `: ${p.reason}` : ''}`));
      return;
    }
    case 'tool_call': {
      const p = event.payload;
      output.record({ type: 'tool_call', ...p }, output.paint('magenta', `· tool_call #${p.index}${p.name ? ` ${p.name}` : ''} ${p.arguments}`));
      return;
    }
    case 'response': {
      const p = event.payload;
      const meta = p.meta;
      const usage = meta?.usage;
      const figures = [
        p.model ?? meta?.model,
        meta?.duration_ms !== undefined ? formatMs(meta.duration_ms) : undefined,
        meta?.ttft_ms !== undefined && meta.ttft_ms !== null ? `ttft ${formatMs(meta.ttft_ms)}` : undefined,
        usage ? `${usage.prompt_tokens}+${usage.completion_tokens}=${usage.total_tokens} tokens` : undefined,
        meta?.attempts && meta.attempts.length > 1 ? `${meta.attempts.length} provider attempts` : undefined,
      ].filter((x): x is string => typeof x === 'string' && x !== '');
      const ok = p.status === 'success' || p.status === 'completed';
      const colour = ok ? 'green' : p.status === 'ai_generated' ? 'cyan' : 'red';
      let line = `${output.paint(colour, `response ${p.status}`)}${figures.length ? ` · ${figures.join(' · ')}` : ''}`;
      if (p.error) line += `\n${output.paint('red', `${p.error.code}: ${p.error.message}`)}`;
      if (p.data !== undefined && p.data !== null) line += `\ndata ${JSON.stringify(p.data)}`;
      if (p.status === 'ai_generated') line += `\n${output.paint('gray', '· waiting for the backend\'s callback')}`;
      output.record({ type: 'response', ...p }, line);
      return;
    }
  }
}
