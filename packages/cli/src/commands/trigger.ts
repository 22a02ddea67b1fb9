import type { AiRequestBody } from '@modelriver/node';
import { CliError, toCliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { parseHttpUrl } from '../config.js';
import { clientOf, configOf, type CommandContext } from '../context.js';
import { streamAck } from './watch.js';

/** Flags of `modelriver trigger`. */
export interface TriggerOptions {
  workflow?: string;
  message?: string;
  payload?: string;
  webhookUrl?: string;
  printChannel?: boolean;
  watch?: boolean;
}

/**
 * `modelriver trigger --workflow <name>`: sends `POST /v1/ai/async` and prints the channel details
 * (`--print-channel`: the channel id alone, for scripts); `--watch` then streams it.
 *
 * @example
 * ```ts
 * const code = await trigger(ctx, { workflow: 'chat', message: 'Hello', watch: true });
 * ```
 */
export async function trigger(ctx: CommandContext, options: TriggerOptions): Promise<number> {
  const { output } = ctx;
  if (!options.workflow) throw new CliError('missing_workflow', 'say which workflow to run: --workflow chat (modelriver workflows lists them)', ExitCode.usage);
  const body = buildBody(options);
  const config = configOf(ctx);
  let ack;
  try {
    ack = await clientOf(ctx).ai.async(body);
  } catch (err) {
    throw toCliError(err, config.baseUrl);
  }
  const details = {
    channel_id: ack.channel_id,
    project_id: ack.project_id,
    websocket_url: ack.websocket_url,
    websocket_channel: ack.websocket_channel,
    status: ack.status,
  };
  if (options.printChannel === true) {
    output.record({ type: 'channel', ...details }, ack.channel_id);
  } else {
    const width = Math.max(...Object.keys(details).map((k) => k.length));
    output.record(
      { type: 'channel', ...details },
      Object.entries(details)
        .map(([k, v]) => `${output.paint('gray', k.padEnd(width))}  ${v}`)
        .join('\n'),
    );
  }
  if (options.watch !== true) return ExitCode.ok;
  return streamAck(ctx, ack);
}

function buildBody(options: TriggerOptions): AiRequestBody {
  let extra: Record<string, unknown> = {};
  if (options.payload !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.payload);
    } catch (err) {
      throw new CliError(
        'invalid_payload',
        `--payload is not valid JSON (${err instanceof Error ? err.message : String(err)}): quote it, e.g. --payload '{"metadata":{"user":"u_1"}}'`,
        ExitCode.usage,
      );
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new CliError('invalid_payload', `--payload must be a JSON object of request fields, e.g. --payload '{"metadata":{"user":"u_1"}}'`, ExitCode.usage);
    }
    extra = parsed as Record<string, unknown>;
  }
  const body: Record<string, unknown> = { ...extra, workflow: options.workflow };
  if (options.message !== undefined || body['messages'] === undefined) {
    body['messages'] = [{ role: 'user', content: options.message ?? 'Hello' }];
  }
  if (options.webhookUrl !== undefined) {
    // "cli": delivered through `modelriver listen` (the gateway's listener extension).
    if (options.webhookUrl !== 'cli') parseHttpUrl(options.webhookUrl, '--webhook-url (or "cli")');
    body['webhook_url'] = options.webhookUrl;
  }
  return body as unknown as AiRequestBody;
}
