import { gatewayCall, type WorkflowInfo } from '../api.js';
import { toCliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { configOf, type CommandContext } from '../context.js';

/**
 * `modelriver workflows`: the gateway's workflows, one per line (`--json`: one object each).
 *
 * @example
 * ```ts
 * const code = await workflows(ctx);
 * ```
 */
export async function workflows(ctx: CommandContext): Promise<number> {
  const config = configOf(ctx);
  let list: WorkflowInfo[];
  try {
    list = (await gatewayCall<{ workflows: WorkflowInfo[] }>(config, ctx.environment.fetch ?? globalThis.fetch, 'GET', '/v1/workflows')).workflows;
  } catch (err) {
    throw toCliError(err, config.baseUrl);
  }
  const { output } = ctx;
  const width = Math.max(0, ...list.map((w) => w.name.length));
  for (const w of list) {
    const traits = [
      w.providers.map((p) => p.name).join(' → '),
      w.structured_output ? 'structured output' : '',
      w.event ? `event ${w.event}` : '',
      w.tools.length ? `tools ${w.tools.join(', ')}` : '',
      w.webhook_url ? `webhook ${w.webhook_url}` : '',
    ].filter(Boolean);
    output.record({ type: 'workflow', ...w }, `${output.paint('bold', w.name.padEnd(width))}  ${w.description}${traits.length ? output.paint('gray', `  [${traits.join('; ')}]`) : ''}`);
  }
  return ExitCode.ok;
}
