import { ModelRiverError } from '@modelriver/client/errors';
import { ExitCode } from './exit-codes.js';

/**
 * Every failure the CLI reports: one line naming the fix (`message`), a stable `code` and the
 * process exit code. Part of the suite's one error family (`instanceof ModelRiverError` holds).
 *
 * @example
 * ```ts
 * throw new CliError('missing_api_key', 'no API key: pass --api-key or set MODELRIVER_API_KEY', ExitCode.usage);
 * ```
 */
export class CliError extends ModelRiverError {
  readonly exitCode: ExitCode;

  constructor(code: string, message: string, exitCode: ExitCode, options: { cause?: unknown } = {}) {
    super(code, message, options);
    this.exitCode = exitCode;
  }
}

/** The parts of `@modelriver/node`'s APIError the CLI reads (duck-typed: no class identity needed). */
interface ApiErrorLike {
  code: string;
  status?: number;
  message: string;
}

/**
 * Turns any error into a {@link CliError} whose message says what to do about it.
 *
 * @example
 * ```ts
 * catch (err) { const cliError = toCliError(err, config.baseUrl); output.fail(cliError); }
 * ```
 */
export function toCliError(err: unknown, baseUrl: string): CliError {
  if (err instanceof CliError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { code: 'internal', message: String(err) }) as ApiErrorLike;
  const detail = typeof e.message === 'string' ? e.message : String(err);
  if (e.code === 'connection_error' || e.code === 'timeout') {
    return new CliError(
      'gateway_unreachable',
      `cannot reach the gateway at ${baseUrl} (${oneLine(detail)}): start it (npm run gateway) or set --base-url / MODELRIVER_BASE_URL`,
      ExitCode.unreachable,
      { cause: err },
    );
  }
  if (e.status === 401 || e.code === 'unauthorized') {
    return new CliError(
      'unauthorized',
      `the gateway at ${baseUrl} refused the API key: check --api-key / MODELRIVER_API_KEY`,
      ExitCode.unauthorized,
      { cause: err },
    );
  }
  if (e.status === 404) return new CliError(e.code || 'not_found', oneLine(detail), ExitCode.notFound, { cause: err });
  if (e.status === 400) return new CliError(e.code || 'invalid_request', oneLine(detail), ExitCode.usage, { cause: err });
  return new CliError(e.code || 'failed', oneLine(detail), ExitCode.failed, { cause: err });
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
