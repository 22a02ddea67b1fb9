import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { configOf, type CommandContext } from '../context.js';
import { parseHttpUrl } from '../config.js';
import { forwardDelivery, type ForwardResult, type PushedDelivery } from '../forward.js';
import { WebhookListener } from '../listener.js';
import { formatMs } from '../output.js';

/** Flags of `modelriver listen`. */
export interface ListenOptions {
  forwardTo?: string;
  print?: boolean;
}

/**
 * `modelriver listen --forward-to <url>` (alias `forward`): receives the project's webhook
 * deliveries through the gateway's listener topic, POSTs each to the local URL with the exact
 * signed bytes and headers, reports the local status back (so the gateway's retries and dead
 * letters apply) and prints one line per delivery. Resolves with the exit code when stopped
 * (Ctrl-C: 0) or when the listener cannot go on (wrong key, unreachable gateway).
 *
 * @example
 * ```ts
 * const code = await listen(ctx, { forwardTo: 'http://localhost:4000/webhook/modelriver' });
 * ```
 */
export async function listen(ctx: CommandContext, options: ListenOptions): Promise<number> {
  const { output, environment } = ctx;
  if (options.forwardTo === undefined && options.print !== true) {
    throw new CliError('missing_target', 'say where deliveries go: --forward-to http://localhost:4000/webhook/modelriver (or --print to only print them)', ExitCode.usage);
  }
  const target = options.forwardTo === undefined ? null : parseHttpUrl(options.forwardTo, '--forward-to');
  const config = configOf(ctx);
  const fetchImpl = environment.fetch ?? globalThis.fetch;
  const now = environment.now ?? Date.now;

  const deliver = async (delivery: PushedDelivery): Promise<ForwardResult> => {
    const event = describe(delivery);
    if (target === null) {
      output.record({ type: 'delivery', ...event, forwarded: false, body: delivery.body }, `${output.paint('cyan', event.event_type)} ${event.delivery_id} ${delivery.body}`);
      // Nobody received it: the gateway should keep it (retry, then dead letter), not count it delivered.
      return { error: 'not forwarded: modelriver listen --print' };
    }
    const startedAt = now();
    const result = await forwardDelivery(fetchImpl, target, delivery);
    const ms = Math.max(0, now() - startedAt);
    const ok = 'status' in result && result.status >= 200 && result.status < 300;
    const shown = 'status' in result ? String(result.status) : 'failed';
    output.record(
      { type: 'delivery', ...event, ...result, duration_ms: ms },
      `${output.paint('cyan', event.event_type.padEnd(17))} ${event.delivery_id}  ${output.paint(ok ? 'green' : 'red', shown)}  ${formatMs(ms)}${'error' in result ? `  ${output.paint('gray', result.error)}` : ''}`,
    );
    return result;
  };

  return new Promise<number>((resolve) => {
    const listener = new WebhookListener({
      baseUrl: config.baseUrl,
      apiKey: config.apiKey,
      ...(environment.createSocket ? { createSocket: environment.createSocket } : {}),
      ...(environment.timers ? { timers: environment.timers } : {}),
      hooks: {
        onReady: ({ projectId, reconnected }) =>
          output.record(
            { type: 'ready', project_id: projectId, reconnected, forward_to: target },
            reconnected
              ? `${output.paint('green', 'reconnected')}; deliveries missed meanwhile arrive on the gateway's retries`
              : `${output.paint('green', 'Ready!')} ${target === null ? 'Printing' : `Forwarding to ${target}`} the webhooks of project ${projectId} (Ctrl-C to stop)`,
          ),
        onDelivery: deliver,
        onDrop: ({ reason, delayMs }) =>
          output.record({ type: 'disconnected', reason, retry_in_ms: delayMs }, output.paint('yellow', `connection lost (${reason}); reconnecting in ${formatMs(delayMs)}`)),
        onFatal: (error) => {
          environment.signal?.removeEventListener('abort', onAbort);
          output.fail(error);
          resolve(error.exitCode);
        },
      },
    });
    const onAbort = (): void => {
      void listener.stop().then(() => resolve(ExitCode.ok));
    };
    if (environment.signal?.aborted) return resolve(ExitCode.ok);
    environment.signal?.addEventListener('abort', onAbort, { once: true });
    listener.start();
  });
}

function describe(delivery: PushedDelivery): { event_type: string; delivery_id: string; channel_id: string } {
  let type = 'webhook';
  try {
    const parsed = JSON.parse(delivery.body) as { type?: unknown };
    if (typeof parsed.type === 'string') type = parsed.type;
  } catch {
    // Forwarded as is all the same: the receiver decides what to make of it.
  }
  return { event_type: type, delivery_id: delivery.delivery_id, channel_id: delivery.channel_id };
}
