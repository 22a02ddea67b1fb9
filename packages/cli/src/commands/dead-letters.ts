import { gatewayCall, type DeadLetter } from '../api.js';
import { CliError, toCliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { configOf, type CommandContext } from '../context.js';

/**
 * `modelriver dead-letters`: the project's dead-lettered webhooks, oldest first, with their last
 * attempt.
 *
 * @example
 * ```ts
 * const code = await listDeadLetters(ctx);
 * ```
 */
export async function listDeadLetters(ctx: CommandContext): Promise<number> {
  const config = configOf(ctx);
  let list: DeadLetter[];
  try {
    list = (await gatewayCall<{ dead_letters: DeadLetter[] }>(config, ctx.environment.fetch ?? globalThis.fetch, 'GET', '/v1/webhooks/dead-letters')).dead_letters;
  } catch (err) {
    throw toCliError(err, config.baseUrl);
  }
  const { output } = ctx;
  if (list.length === 0) output.note('no dead letters');
  for (const d of list) {
    const last = d.attempts[d.attempts.length - 1];
    const why = last ? (last.status !== undefined ? `HTTP ${last.status}` : (last.error ?? '')) : '';
    output.record(
      { ...d, type: 'dead_letter', webhook_type: d.type },
      `${output.paint('red', d.id)}  ${d.type}  ${d.channel_id}  → ${d.url}  ${d.attempts.length} attempts${why ? `, last: ${why}` : ''}`,
    );
  }
  return ExitCode.ok;
}

/**
 * `modelriver dead-letters replay <id>`: puts a dead-lettered webhook back in line (first attempt
 * at once); follow it with `modelriver logs <channel_id>`.
 *
 * @example
 * ```ts
 * const code = await replayDeadLetter(ctx, 'evt_0123');
 * ```
 */
export async function replayDeadLetter(ctx: CommandContext, id: string): Promise<number> {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(id)) {
    throw new CliError('invalid_id', `"${id}" is not a delivery id: copy one from modelriver dead-letters (e.g. evt_…)`, ExitCode.usage);
  }
  const config = configOf(ctx);
  let delivery: DeadLetter;
  try {
    delivery = (await gatewayCall<{ delivery: DeadLetter }>(config, ctx.environment.fetch ?? globalThis.fetch, 'POST', `/v1/webhooks/dead-letters/${encodeURIComponent(id)}/replay`)).delivery;
  } catch (err) {
    throw toCliError(err, config.baseUrl);
  }
  ctx.output.record({ ...delivery, type: 'replayed', webhook_type: delivery.type }, `replaying ${delivery.id} → ${delivery.url} (follow it with modelriver logs ${delivery.channel_id})`);
  return ExitCode.ok;
}
