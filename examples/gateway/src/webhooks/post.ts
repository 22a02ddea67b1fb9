import { fetchFailureCause } from '../values.js';

/** What one delivery attempt needs: the bytes and headers are prepared by the caller. */
export interface PostWebhookInput {
  fetch: typeof fetch;
  url: string;
  /** The exact body bytes that were signed. */
  payload: string;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Aborts the attempt early (the dispatcher is closing). */
  signal?: AbortSignal;
}

/** How one attempt ended: `status` when the receiver answered, `error` otherwise or for a redirect. */
export type PostWebhookOutcome = { ok: true; status: number } | { ok: false; status?: number; error?: string };

/**
 * Makes one signed POST with its own timeout. Never rejects: a network error, a timeout or a
 * non-2xx answer is reported as `{ ok: false }` so the caller only has to schedule a retry.
 *
 * @example
 * ```ts
 * const outcome = await postWebhook({ fetch, url, payload, headers, timeoutMs: 10_000 });
 * if (!outcome.ok) console.log(outcome.status ?? outcome.error);
 * ```
 */
export async function postWebhook(input: PostWebhookInput): Promise<PostWebhookOutcome> {
  const { url, payload, headers, timeoutMs, signal } = input;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  // A pending timeout must not hold a gateway open at shutdown.
  (timer as { unref?: () => void }).unref?.();
  const onOuterAbort = (): void => controller.abort();
  signal?.addEventListener('abort', onOuterAbort, { once: true });
  try {
    if (signal?.aborted) return { ok: false, error: 'dispatcher closed' };
    const res = await input.fetch(url, {
      method: 'POST',
      body: payload,
      headers,
      // A redirected POST would be re-sent somewhere the operator never configured; a 3xx is
      // a failed attempt (as Standard Webhooks senders do).
      redirect: 'manual',
      signal: controller.signal,
    });
    // Only the status matters; drop the body so the connection is released.
    res.body?.cancel().catch(() => undefined);
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    if (res.status >= 300 && res.status < 400) {
      const location = res.headers.get('location');
      return { ok: false, status: res.status, error: `redirect not followed${location ? ` (to ${location})` : ''}` };
    }
    return { ok: false, status: res.status };
  } catch (err) {
    if (timedOut) return { ok: false, error: `timeout: no response within ${timeoutMs} ms` };
    if (signal?.aborted) return { ok: false, error: 'dispatcher closed' };
    return { ok: false, error: describeFetchError(err) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onOuterAbort);
  }
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return `network error: ${String(err)}`;
  const { code, message } = fetchFailureCause(err);
  if (code !== undefined && message !== undefined) return `network error: ${code} (${message})`;
  return `network error: ${code ?? message ?? err.message}`;
}
