/**
 * One delivery attempt, the same whichever dispatcher schedules it: sign the stored bytes afresh
 * (own timestamp, same id), send them by HTTP POST or through the CLI transport, and describe the
 * outcome as a request-log attempt entry.
 */
import { signWebhook, type WebhookAttemptLog } from '@modelriver/node';
import { postWebhook, type PostWebhookOutcome } from './post.js';
import { CLI_WEBHOOK_TARGET, type WebhookDispatcherOptions } from './types.js';

const USER_AGENT = 'ModelRiver-Gateway-Webhooks/0';

/** What an attempt sends: a prepared delivery's target, bytes and secret. */
export interface AttemptTarget {
  id: string;
  url: string;
  channelId: string;
  projectId?: string;
  payload: string;
  secret: string;
  /** Set when the delivery can never be sent: the attempt fails with this error, sending nothing. */
  invalid?: string;
}

/** Where and how an attempt is made. */
export interface AttemptEnvironment {
  fetch: typeof fetch;
  cliTransport: WebhookDispatcherOptions['cliTransport'];
  timeoutMs: number;
  now: () => number;
  /** Aborts the attempt (the dispatcher is closing). */
  signal: AbortSignal;
}

/**
 * The environment of a dispatcher's attempts, from its options.
 *
 * @example
 * ```ts
 * const closing = new AbortController();
 * const env = attemptEnvironment(options, timeoutMs, closing.signal);
 * ```
 */
export function attemptEnvironment(options: WebhookDispatcherOptions, timeoutMs: number, signal: AbortSignal): AttemptEnvironment {
  return { fetch: options.fetch ?? globalThis.fetch, cliTransport: options.cliTransport, timeoutMs, now: options.now ?? Date.now, signal };
}

/** How an attempt went, as the request log records it. */
export interface AttemptResult {
  ok: boolean;
  log: WebhookAttemptLog;
}

/**
 * Makes attempt number `number` of `target`. Never rejects: every failure is a failed attempt.
 *
 * @example
 * ```ts
 * const { ok, log } = await makeAttempt(target, 1, { fetch, cliTransport: undefined, timeoutMs: 10_000, now: Date.now, signal });
 * if (!ok) console.log(log.status ?? log.error);
 * ```
 */
export async function makeAttempt(target: AttemptTarget, number: number, env: AttemptEnvironment): Promise<AttemptResult> {
  const startedAt = env.now();
  const outcome = await send(target, startedAt, env);
  const log: WebhookAttemptLog = {
    attempt: number,
    at: new Date(startedAt).toISOString(),
    duration_ms: Math.max(0, Math.round(env.now() - startedAt)),
  };
  if (outcome.status !== undefined) log.status = outcome.status;
  if (!outcome.ok && outcome.error !== undefined) log.error = outcome.error;
  return { ok: outcome.ok, log };
}

async function send(target: AttemptTarget, startedAt: number, env: AttemptEnvironment): Promise<PostWebhookOutcome> {
  if (target.invalid !== undefined) return { ok: false, error: target.invalid };
  let headers: Record<string, string>;
  try {
    headers = {
      ...signWebhook({ body: target.payload, secret: target.secret, id: target.id, timestamp: Math.floor(startedAt / 1000) }),
      'mr-channel-id': target.channelId,
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
    };
  } catch (err) {
    return { ok: false, error: `signing failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (target.url === CLI_WEBHOOK_TARGET) {
    const { projectId } = target;
    if (env.cliTransport === undefined || projectId === undefined) return { ok: false, error: 'no cli listener connected' };
    try {
      return await env.cliTransport({
        projectId,
        deliveryId: target.id,
        channelId: target.channelId,
        payload: target.payload,
        headers,
        timeoutMs: env.timeoutMs,
        signal: env.signal,
      });
    } catch (err) {
      return { ok: false, error: `cli transport failed: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return postWebhook({ fetch: env.fetch, url: target.url, payload: target.payload, headers, timeoutMs: env.timeoutMs, signal: env.signal });
}
