/**
 * Fetch adapter (`Request` → `Response`): Next.js App Router route handlers, Hono, Bun,
 * Deno, Cloudflare Workers. Like every handler it verifies on `node:crypto` where the runtime
 * has it (faster) and on WebCrypto where it does not, so it runs everywhere.
 */
import { createWebhookHandler, errorResult, type WebhookHandlerOptions } from '../handler/webhook-handler.js';
import { WebhookVerificationError } from '../webhooks/errors.js';
import { DEFAULT_MAX_BODY_BYTES, bodyTooLarge, declaredTooLarge, readStreamLimited, unreadableBody } from './raw-body.js';

/** Options of {@link createFetchWebhookHandler}. */
export type FetchWebhookHandlerOptions = WebhookHandlerOptions & {
  /** Default 1 MiB; larger bodies get 413. */
  maxBodyBytes?: number;
};

/**
 * A `(request: Request) => Promise<Response>` webhook endpoint built on
 * {@link createWebhookHandler} (same options; `verify` defaults to `node:crypto` where it exists,
 * else WebCrypto). Give it the untouched `Request`: a body already read (`await req.json()`)
 * can be read only once and is answered with 500 `body_already_parsed`. A missing or empty
 * secret throws `invalid_secret` here, at creation.
 *
 * @example
 * ```ts
 * // app/api/webhooks/modelriver/route.ts (Next.js App Router)
 * const handler = createFetchWebhookHandler({ secret: process.env.MODELRIVER_WEBHOOK_SECRET!, onCompleted: (e) => save(e) });
 * export const POST = handler;
 * ```
 */
export function createFetchWebhookHandler(options: FetchWebhookHandlerOptions): (request: Request) => Promise<Response> {
  const handler = createWebhookHandler(options);
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  return async (request) => {
    if (request.method !== 'POST') {
      return json(405, { error: { code: 'method_not_allowed', message: 'Webhooks are delivered with POST.' } }, { allow: 'POST' });
    }
    if (request.bodyUsed) {
      return json(
        500,
        errorResult(
          new WebhookVerificationError(
            'body_already_parsed',
            'The request body was already read.',
            'A Request body can be read once: pass the untouched request, and do not call req.json() or req.text() before.',
          ),
        ).body,
      );
    }
    let raw: Uint8Array;
    try {
      if (declaredTooLarge(request.headers.get('content-length'), limit)) throw bodyTooLarge(limit);
      raw = await readStreamLimited(request.body, limit);
    } catch (error) {
      const { status, body } = errorResult(
        error instanceof WebhookVerificationError ? error : unreadableBody(),
      );
      return json(status, body);
    }
    const result = await handler.handle({ body: raw, headers: request.headers });
    return json(result.status, result.body);
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers } });
}
