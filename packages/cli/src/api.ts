/**
 * The gateway calls `@modelriver/node` has no method for (workflows, dead letters), with the same
 * error mapping as its client: the CLI only needs a GET and a POST.
 */
import { ConnectionError, fromResponse } from '@modelriver/node';
import type { CliConfig } from './config.js';

/** One workflow as `GET /v1/workflows` lists it. */
export interface WorkflowInfo {
  name: string;
  description: string;
  providers: Array<{ name: string; model: string }>;
  structured_output: boolean;
  event: string | null;
  tools: string[];
  webhook_url?: string | null;
}

/** One dead-lettered delivery as `GET /v1/webhooks/dead-letters` lists it. */
export interface DeadLetter {
  id: string;
  type: string;
  url: string;
  channel_id: string;
  state: string;
  attempts: Array<{ attempt: number; at: string; status?: number; error?: string; duration_ms: number }>;
}

/**
 * Calls the gateway's API with the key; a non-2xx answer throws `@modelriver/node`'s typed error.
 *
 * @example
 * ```ts
 * const { workflows } = await gatewayCall<{ workflows: WorkflowInfo[] }>(config, fetch, 'GET', '/v1/workflows');
 * ```
 */
export async function gatewayCall<T>(config: CliConfig, fetchImpl: typeof fetch, method: 'GET' | 'POST', path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetchImpl(`${config.baseUrl}${path}`, { method, headers: { authorization: `Bearer ${config.apiKey}`, accept: 'application/json' } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ConnectionError(cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err)), { code: 'connection_error', cause: err });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON (a proxy's error page): fromResponse describes it by status.
    }
    throw fromResponse(res.status, body, res.headers);
  }
  return (await res.json()) as T;
}
