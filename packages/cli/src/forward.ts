/** One delivery POSTed to the developer's local endpoint, byte for byte as the gateway signed it. */

/** What the gateway pushed for one attempt. */
export interface PushedDelivery {
  attempt_id: string;
  delivery_id: string;
  channel_id: string;
  headers: Record<string, string>;
  /** The exact signed body. */
  body: string;
  timeout_ms: number;
}

/** The local target's answer: its status, or why there is none. */
export type ForwardResult = { status: number } | { error: string };

/**
 * POSTs the exact bytes and signature headers to `url` and returns the status (a redirect is a
 * status too: it is not followed, like the gateway's own deliveries). Never rejects.
 *
 * @example
 * ```ts
 * const result = await forwardDelivery(fetch, 'http://localhost:4000/webhook/modelriver', delivery);
 * if ('status' in result) console.log(result.status);
 * ```
 */
export async function forwardDelivery(fetchImpl: typeof fetch, url: string, delivery: PushedDelivery): Promise<ForwardResult> {
  const controller = new AbortController();
  // A little under the gateway's own deadline, so the report still arrives in time.
  const timeoutMs = Math.max(100, delivery.timeout_ms - 250);
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const res = await fetchImpl(url, {
      method: 'POST',
      body: delivery.body,
      headers: delivery.headers,
      redirect: 'manual',
      signal: controller.signal,
    });
    res.body?.cancel().catch(() => undefined);
    return { status: res.status };
  } catch (err) {
    if (controller.signal.aborted) return { error: `local target did not answer within ${timeoutMs} ms` };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { error: `local target unreachable: ${cause?.message ?? cause?.code ?? (err instanceof Error ? err.message : String(err))}` };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads a pushed delivery, or returns null when the frame's payload is not one.
 *
 * @example
 * ```ts
 * const delivery = readPushedDelivery(frame[4]);
 * ```
 */
export function readPushedDelivery(payload: unknown): PushedDelivery | null {
  if (payload === null || typeof payload !== 'object') return null;
  const p = payload as Record<string, unknown>;
  const headers = p['headers'];
  if (
    typeof p['attempt_id'] !== 'string' ||
    typeof p['delivery_id'] !== 'string' ||
    typeof p['channel_id'] !== 'string' ||
    typeof p['body'] !== 'string' ||
    typeof p['timeout_ms'] !== 'number' ||
    headers === null ||
    typeof headers !== 'object' ||
    !Object.values(headers).every((v) => typeof v === 'string')
  ) {
    return null;
  }
  return p as unknown as PushedDelivery;
}
