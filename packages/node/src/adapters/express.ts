/**
 * Express (4 and 5) adapter: a middleware that reads the raw body from the request stream
 * itself, so it needs no `express.raw()` and notices when a JSON parser got there first.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { WebhookHandler } from '../handler/webhook-handler.js';
import { endpointKeys, errorResult } from '../handler/webhook-handler.js';
import { WebhookVerificationError } from '../webhooks/errors.js';
import { verifyWithKeys } from '../webhooks/verify.js';
import type { VerifiedWebhook, WebhookSecretOptions } from '../webhooks/verify-core.js';
import { DEFAULT_MAX_BODY_BYTES, bodyTooLarge, declaredTooLarge, unreadableBody } from './raw-body.js';

/** The request as the middleware sees it (Express's `Request` fits). */
export interface WebhookRequest extends IncomingMessage {
  body?: unknown;
  /** Set by {@link webhookMiddleware} in verify mode. */
  modelriverWebhook?: VerifiedWebhook;
}

/** Options of {@link webhookMiddleware}: a handler (answers the request) or secrets (verify, then `next()`). */
export type ExpressWebhookOptions = { /** Default 1 MiB; larger bodies get 413. */ maxBodyBytes?: number } & (
  | { /** Answers the delivery itself with this handler (from `createWebhookHandler`). */ handler: WebhookHandler }
  | VerifyModeOptions
);

type VerifyModeOptions = WebhookSecretOptions & { toleranceSec?: number; now?: () => number; handler?: undefined };

type Next = (error?: unknown) => void;

const PARSED_HINT =
  'Mount webhookMiddleware before express.json() (or scope the JSON parser to other routes): it reads the raw body itself, and the signature covers the exact bytes.';

/**
 * Express middleware for the webhook route. It reads the raw body itself (with a size limit:
 * 413 above it) — do not put `express.json()` in front of it; if a parser already consumed
 * the body it passes a 500 `body_already_parsed` error (with a hint) to `next`, as it does
 * with any error the handler throws.
 *
 * - With `{ handler }`: answers the delivery (200, or the error's status with `{error:{code,message}}`).
 * - With `{ secret | secrets }`: verifies, sets `req.modelriverWebhook` (read it with
 *   {@link getVerifiedWebhook}) and `req.body` (the event), then calls `next()`; a bad delivery
 *   gets 400 `{error:{code,message}}`. The secret(s) are checked and decoded once, here: without
 *   a handler, a missing or empty secret throws `invalid_secret` at once.
 *
 * @example
 * ```ts
 * app.post('/webhooks/modelriver', webhookMiddleware({ secret: process.env.MODELRIVER_WEBHOOK_SECRET! }), (req, res) => {
 *   const { event } = getVerifiedWebhook(req);
 *   res.json({ received: event.id });
 * });
 * // or let a handler answer:
 * app.post('/webhooks/modelriver', webhookMiddleware({ handler: createWebhookHandler({ secret, onCompleted }) }));
 * ```
 */
export function webhookMiddleware(options: ExpressWebhookOptions): (req: WebhookRequest, res: ServerResponse, next: Next) => void {
  const handler = options?.handler;
  // Verify mode checks and decodes its secrets once, here; a handler did so when it was created.
  const verify = options?.handler ? null : verifier(options);
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  return (req, res, next) => {
    // body-parser sets req.body (and `_body`) once it has consumed the stream.
    if (req.body !== undefined || (req as { _body?: unknown })._body || req.readableEnded) {
      next(new WebhookVerificationError('body_already_parsed', 'A body parser consumed the request before webhookMiddleware.', PARSED_HINT));
      return;
    }
    readRawBody(req, limit)
      .then(
        async (raw) => {
          if (handler) {
            const result = await handler.handle({ body: raw, headers: req.headers });
            sendJson(res, result.status, result.body);
            return;
          }
          let verified: VerifiedWebhook;
          try {
            verified = verify!(raw, req.headers);
          } catch (error) {
            const { status, body } = errorResult(error);
            sendJson(res, status, body);
            return;
          }
          req.modelriverWebhook = verified;
          req.body = verified.event;
          // Tells any body parser mounted later that the body was read.
          (req as { _body?: boolean })._body = true;
          next();
        },
        (error: unknown) => {
          if (error instanceof WebhookVerificationError) {
            if (error.code === 'body_too_large') res.setHeader('connection', 'close');
            const { status, body } = errorResult(error);
            sendJson(res, status, body);
          } else {
            next(error);
          }
        },
      )
      // `handle` is documented never to reject, but a custom WebhookHandler may: Express gets the error, not the process.
      .catch(next);
  };
}

/** Verify mode: the secrets checked and decoded once, then a verifier per delivery. */
function verifier(options: VerifyModeOptions | undefined): (body: Uint8Array, headers: IncomingHttpHeaders) => VerifiedWebhook {
  const keys = endpointKeys(options, 'webhookMiddleware (without { handler })');
  const toleranceSec = options?.toleranceSec;
  const now = options?.now;
  return (body, headers) => verifyWithKeys({ toleranceSec, now, body, headers }, keys);
}

/**
 * The verified delivery {@link webhookMiddleware} attached to the request, typed.
 *
 * @example
 * ```ts
 * app.post('/hook', webhookMiddleware({ secret }), (req, res) => {
 *   const { event, scheme } = getVerifiedWebhook(req);
 *   res.sendStatus(200);
 * });
 * ```
 */
export function getVerifiedWebhook(req: object): VerifiedWebhook {
  const verified = (req as WebhookRequest).modelriverWebhook;
  if (!verified) {
    throw new WebhookVerificationError('invalid_options', 'No verified webhook on this request: mount webhookMiddleware({ secret }) before this handler.');
  }
  return verified;
}

function readRawBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declaredTooLarge(req.headers['content-length'], limit)) {
      req.resume(); // drain and discard, so the 413 can be read by the sender
      reject(bodyTooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    // A socket error mid-body (the sender went away) is a delivery that could not be read: the
    // same 400 `invalid_body` the Fetch and Fastify adapters answer, not a bare Error for next().
    const onError = () => {
      cleanup();
      reject(unreadableBody());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}
