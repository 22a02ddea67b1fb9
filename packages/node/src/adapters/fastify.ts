/**
 * Fastify (4 and 5) adapter: a plugin whose scope replaces the content-type parsers with a
 * raw-buffer one, so its route sees the exact bytes while the rest of the app keeps parsing
 * JSON as usual.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { errorResult, type WebhookHandler } from '../handler/webhook-handler.js';
import { WebhookVerificationError } from '../webhooks/errors.js';
import { DEFAULT_MAX_BODY_BYTES, bodyTooLarge, unreadableBody } from './raw-body.js';

/** Options of {@link fastifyWebhookPlugin} (besides Fastify's own `prefix`). */
export interface FastifyWebhookPluginOptions {
  /** Answers deliveries; from `createWebhookHandler`. */
  handler: WebhookHandler;
  /** Route path inside the plugin's prefix. Default `/`. */
  path?: string;
  /** Default 1 MiB; larger bodies get 413. */
  bodyLimit?: number;
}

/** The reply surface the plugin uses (Fastify's `FastifyReply` fits). */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  header(name: string, value: string): FastifyReplyLike;
  send(payload?: unknown): unknown;
}

/** The instance surface the plugin uses (Fastify's `FastifyInstance` fits). */
export interface FastifyInstanceLike {
  removeAllContentTypeParsers(): unknown;
  addContentTypeParser(
    contentType: string | string[] | RegExp,
    options: { parseAs: 'buffer'; bodyLimit?: number },
    parser: (request: unknown, body: Buffer, done: (error: Error | null, body?: unknown) => void) => void,
  ): unknown;
  setErrorHandler(handler: (error: { statusCode?: number; code?: string }, request: unknown, reply: FastifyReplyLike) => unknown): unknown;
  post(path: string, handler: (request: { body: unknown; headers: IncomingHttpHeaders }, reply: FastifyReplyLike) => Promise<unknown>): unknown;
}

/**
 * Fastify plugin serving the webhook endpoint with a {@link WebhookHandler}. Register it
 * with a `prefix`; its raw-body parser applies to its own route only (it is deliberately not
 * wrapped in fastify-plugin, so it stays encapsulated).
 *
 * @example
 * ```ts
 * await app.register(fastifyWebhookPlugin, {
 *   prefix: '/webhooks/modelriver',
 *   handler: createWebhookHandler({ secret: process.env.MODELRIVER_WEBHOOK_SECRET!, onCompleted: (e) => save(e) }),
 * });
 * ```
 */
export async function fastifyWebhookPlugin(fastify: FastifyInstanceLike, options: FastifyWebhookPluginOptions): Promise<void> {
  if (!options?.handler || typeof options.handler.handle !== 'function') {
    throw new WebhookVerificationError('invalid_options', 'fastifyWebhookPlugin needs { handler } from createWebhookHandler().');
  }
  const { handler } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_MAX_BODY_BYTES;

  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
  // Fastify's own 413 / 415 / empty-body errors, in the same `{error: {code, message}}` shape as ours.
  fastify.setErrorHandler((error, _request, reply) => {
    const tooLarge = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413;
    const result = errorResult(
      tooLarge ? bodyTooLarge(bodyLimit) : (error.statusCode ?? 500) < 500 ? unreadableBody() : error,
    );
    return reply.code(result.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result.body));
  });
  fastify.post(options.path ?? '/', async (request, reply) => {
    // No content-type at all leaves the body undefined: verify it as empty rather than as "parsed".
    const body = request.body === undefined ? new Uint8Array(0) : (request.body as Buffer);
    const result = await handler.handle({ body, headers: request.headers });
    return reply.code(result.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(result.body));
  });
}
