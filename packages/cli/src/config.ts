import { CliError } from './errors.js';
import { ExitCode } from './exit-codes.js';

/** Where and as whom the CLI talks to a gateway. */
export interface CliConfig {
  apiKey: string;
  /** `http(s)://host[:port]`, no trailing slash. */
  baseUrl: string;
}

/** The reference gateway's address (`npm run gateway`). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';

/**
 * Resolves the API key and base URL: flags first, then `MODELRIVER_API_KEY` /
 * `MODELRIVER_BASE_URL`, then the reference gateway's address. Throws a usage {@link CliError}
 * naming the fix.
 *
 * @example
 * ```ts
 * const config = resolveCliConfig({ apiKey: undefined, baseUrl: undefined }, process.env);
 * ```
 */
export function resolveCliConfig(flags: { apiKey?: string | undefined; baseUrl?: string | undefined }, env: Record<string, string | undefined>): CliConfig {
  const apiKey = flags.apiKey ?? nonEmpty(env['MODELRIVER_API_KEY']);
  if (apiKey === undefined) {
    throw new CliError('missing_api_key', 'no API key: pass --api-key <key> or set MODELRIVER_API_KEY (the reference gateway\'s is mr_test_local)', ExitCode.usage);
  }
  if (/[^\x21-\x7e]/.test(apiKey)) {
    throw new CliError('invalid_api_key', 'the API key contains spaces or control characters: check --api-key / MODELRIVER_API_KEY', ExitCode.usage);
  }
  const raw = flags.baseUrl ?? nonEmpty(env['MODELRIVER_BASE_URL']) ?? DEFAULT_BASE_URL;
  return { apiKey, baseUrl: parseHttpUrl(raw, '--base-url / MODELRIVER_BASE_URL').replace(/\/+$/, '') };
}

/**
 * Checks that `raw` is an absolute http(s) URL; the error names `what` and shows an example.
 *
 * @example
 * ```ts
 * parseHttpUrl('http://localhost:4000/webhook', '--forward-to'); // 'http://localhost:4000/webhook'
 * ```
 */
export function parseHttpUrl(raw: string, what: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError('invalid_url', `${what} must be an absolute http(s) URL such as http://localhost:4000/webhook, got "${raw}"`, ExitCode.usage);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('invalid_url', `${what} must be an http(s) URL such as http://localhost:4000/webhook, got "${raw}"`, ExitCode.usage);
  }
  return raw;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
