import type { RequestLog } from '@modelriver/node';
import { toCliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { clientOf, configOf, type CommandContext } from '../context.js';
import { formatMs, type Output } from '../output.js';
import { requireChannelId } from './watch.js';

/**
 * `modelriver logs <channel_id>`: the request log as a timeline (provider attempts, failover,
 * webhooks with each attempt, the callback), then a summary. `--json` prints the log as is.
 *
 * @example
 * ```ts
 * const code = await logs(ctx, channelId);
 * ```
 */
export async function logs(ctx: CommandContext, channelId: string): Promise<number> {
  requireChannelId(channelId);
  const config = configOf(ctx);
  let log: RequestLog;
  try {
    log = await clientOf(ctx).requests.get(channelId);
  } catch (err) {
    throw toCliError(err, config.baseUrl);
  }
  const { output } = ctx;
  if (output.json) {
    output.record({ type: 'request_log', ...log }, null);
    return ExitCode.ok;
  }
  output.record({}, `${output.paint('bold', `${log.workflow}`)} ${log.channel_id}  ${paintStatus(output, log.status)}  ${formatMs(log.duration_ms)}${log.ttft_ms !== null ? ` (ttft ${formatMs(log.ttft_ms)})` : ''}`);
  const start = Date.parse(log.created_at);
  for (const entry of log.timeline) {
    const { at, event, ...fields } = entry;
    const offset = `+${formatMs(Date.parse(at) - start)}`.padStart(10);
    const details = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    output.record({}, `${output.paint('gray', offset)}  ${colourEvent(output, event)}${details ? `  ${details}` : ''}`);
  }
  if (log.attempts.length > 0) {
    output.record({}, output.paint('bold', 'providers'));
    for (const a of log.attempts) {
      output.record({}, `  ${a.provider}/${a.model}  ${paintStatus(output, a.status)}  ${formatMs(a.duration_ms)}${a.error ? `  ${a.error}` : ''}`);
    }
  }
  for (const hook of log.webhooks) {
    output.record({}, `${output.paint('bold', 'webhook')} ${hook.type} ${hook.id} → ${hook.url}  ${paintStatus(output, hook.state)}`);
    for (const a of hook.attempts) {
      output.record({}, `  #${a.attempt} ${a.at}  ${a.status ?? '-'}  ${formatMs(a.duration_ms)}${a.error ? `  ${a.error}` : ''}`);
    }
  }
  if (log.callback) {
    output.record({}, `${output.paint('bold', 'callback')} ${paintStatus(output, log.callback.status)}  deadline ${log.callback.deadline}${log.callback.received_at ? `  received ${log.callback.received_at}` : ''}`);
  }
  return ExitCode.ok;
}

function paintStatus(output: Output, status: string): string {
  if (['success', 'completed', 'delivered', 'received', 'ok'].includes(status)) return output.paint('green', status);
  if (['error', 'dead', 'failed', 'timed_out', 'cancelled'].includes(status)) return output.paint('red', status);
  return output.paint('yellow', status);
}

function colourEvent(output: Output, event: string): string {
  if (event.includes('fail') || event.includes('dead') || event.includes('timeout')) return output.paint('red', event);
  if (event.startsWith('webhook')) return output.paint('cyan', event);
  if (event.startsWith('status:failover')) return output.paint('yellow', event);
  return event;
}
