/**
 * The `modelriver` command line: commander wiring, global flags, and the one place where errors
 * become a line on stderr and an exit code. `run` never exits the process itself, so tests call
 * it in-process with their own streams and signal.
 */
import { Command, CommanderError } from 'commander';
import { listDeadLetters, replayDeadLetter } from './commands/dead-letters.js';
import { listen } from './commands/listen.js';
import { logs } from './commands/logs.js';
import { trigger } from './commands/trigger.js';
import { watch } from './commands/watch.js';
import { workflows } from './commands/workflows.js';
import type { CliEnvironment, CommandContext } from './context.js';
import { CliError, toCliError } from './errors.js';
import { ExitCode } from './exit-codes.js';
import { Output } from './output.js';

export type { CliEnvironment } from './context.js';

/** Global flags, available on every command. */
interface GlobalFlags {
  apiKey?: string;
  baseUrl?: string;
  json?: boolean;
  color?: boolean;
}

export const VERSION = '0.1.0';

/**
 * Runs `modelriver` with `argv` (without `node` and the script) and resolves with the exit code.
 *
 * @example
 * ```ts
 * const code = await run(['workflows', '--json'], { env: process.env, stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), isTTY: false });
 * ```
 */
export async function run(argv: readonly string[], environment: CliEnvironment): Promise<number> {
  let output = new Output(environment, { json: argv.includes('--json') });
  let exitCode: number = ExitCode.ok;

  const contextOf = (command: Command): CommandContext => {
    const flags = command.optsWithGlobals<GlobalFlags>();
    output = new Output(environment, { json: flags.json === true, colour: flags.color !== false });
    return {
      environment,
      output,
      flags: { ...(flags.apiKey !== undefined ? { apiKey: flags.apiKey } : {}), ...(flags.baseUrl !== undefined ? { baseUrl: flags.baseUrl } : {}) },
    };
  };
  const action =
    <A extends unknown[]>(body: (ctx: CommandContext, ...args: A) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      exitCode = await body(contextOf(command), ...(args.slice(0, -1) as A));
    };

  const program = new Command('modelriver')
    .description('Forward webhooks to localhost, trigger a request, watch a stream, read its log.')
    .version(VERSION, '-v, --version')
    .option('--api-key <key>', 'API key of the project (or MODELRIVER_API_KEY)')
    .option('--base-url <url>', 'the gateway\'s base URL (default http://127.0.0.1:8787, or MODELRIVER_BASE_URL)')
    .option('--json', 'one JSON object per line')
    .option('--no-color', 'no colours (also off without a TTY and with NO_COLOR)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => environment.stdout(text),
      writeErr: (text) => environment.stderr(text),
      // Commander's own messages are already one line naming the problem; keep them to one.
      outputError: (text, write) => write(`${text.trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });

  program
    .command('listen')
    .alias('forward')
    .description('forward the project\'s webhooks to a local URL')
    .option('--forward-to <url>', 'local endpoint that receives each delivery, e.g. http://localhost:4000/webhook/modelriver')
    .option('--print', 'only print deliveries, forward nothing')
    .action(action((ctx, opts: { forwardTo?: string; print?: boolean }) => listen(ctx, opts)));

  program
    .command('trigger')
    .description('send an async request and print its channel')
    .option('--workflow <name>', 'workflow to run (see modelriver workflows)')
    .option('--message <text>', 'the user message (default "Hello")')
    .option('--payload <json>', 'extra request fields as a JSON object, e.g. \'{"metadata":{"user":"u_1"}}\'')
    .option('--webhook-url <url>', 'where the result webhook goes: an http(s) URL, or "cli" for modelriver listen')
    .option('--print-channel', 'print only the channel id (for scripts)')
    .option('--watch', 'then stream the request')
    .action(action((ctx, opts: Parameters<typeof trigger>[1]) => trigger(ctx, opts)));

  program
    .command('watch')
    .alias('websocket')
    .description('stream a request\'s tokens, statuses, tool calls and final response')
    .argument('<channel_id>', 'the channel_id of the request')
    .action(action((ctx, channelId: string) => watch(ctx, channelId)));

  program
    .command('logs')
    .description('a request\'s log as a timeline')
    .argument('<channel_id>', 'the channel_id of the request')
    .action(action((ctx, channelId: string) => logs(ctx, channelId)));

  program
    .command('workflows')
    .description('the gateway\'s workflows')
    .action(action((ctx) => workflows(ctx)));

  const deadLetters = program
    .command('dead-letters')
    .description('webhooks that failed every retry')
    .action(action((ctx) => listDeadLetters(ctx)));
  deadLetters
    .command('replay')
    .description('deliver a dead-lettered webhook again')
    .argument('<id>', 'the delivery id (from modelriver dead-letters)')
    .action(action((ctx, id: string) => replayDeadLetter(ctx, id)));

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return ExitCode.ok;
      // Commander has printed its one line already.
      return ExitCode.usage;
    }
    const error = err instanceof CliError ? err : toCliError(err, environment.env['MODELRIVER_BASE_URL'] ?? 'the gateway');
    output.fail(error);
    return error.exitCode;
  }
}
