/**
 * The HTTP API (contract §1) on node:http, no framework. The pipeline is fixed and every request goes
 * through it in this order: health (no auth) → auth → rate limit → route → content type → body
 * (size-limited while streaming) → JSON → validation → handler. Anything thrown becomes
 * `{"error": {code, message}}`; an unexpected fault is a 500 `internal_error` without details.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { ErrorCode, GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ProjectDirectory } from '../projects.js';
import { createAuthenticator } from './auth.js';
import { isJsonContentType, parseJson, readBody } from './body.js';
import { storeUnavailable } from '../store/redis.js';
import type { RateDecision, RateLimitStore } from './rate-limit.js';
import type { RouteContext, Routes } from './routes.js';

/** What {@link createApiHandler} needs. */
export interface ApiDeps {
  /** Who may call: every key of every project. */
  projects: ProjectDirectory;
  bodyLimitBytes: number;
  /** Memory (`RateLimiter`) or shared (Redis); a failing store answers 503 `store_unavailable`. */
  limiter: RateLimitStore;
  routes: Routes;
  logger: Logger;
}

/**
 * An answer sent before the body was read leaves the rest of the body on the wire. Closing the
 * connection at once would make the kernel answer the client's next bytes with a reset, and an
 * uploader that is still writing then sees EPIPE/ECONNRESET instead of our answer. So the rest is
 * read and dropped (never buffered) up to this many times the body limit, which keeps the
 * connection usable; past it the connection is cut. `requestTimeoutMs` bounds the time it may take.
 */
export const DISCARD_FACTOR = 8;

/**
 * Writes a JSON answer.
 *
 * @example
 * ```ts
 * sendJson(res, 200, { status: 'ok' });
 * ```
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * An answer sent before the body was read. The rest of the body is read and dropped, up to
 * `limit × DISCARD_FACTOR` bytes, so the client gets the answer instead of a reset; a body past
 * that bound gets the connection cut once the bound is reached.
 */
function answerEarly(req: IncomingMessage, res: ServerResponse, limit: number, status: number, body: unknown, headers: Record<string, string>): void {
  if (!req.complete) discardBody(req, limit * DISCARD_FACTOR);
  sendJson(res, status, body, headers);
}

function discardBody(req: IncomingMessage, bound: number): void {
  let discarded = 0;
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > bound) req.destroy();
  });
  req.resume();
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

/**
 * Creates the request listener of the API.
 *
 * @example
 * ```ts
 * const server = http.createServer(createApiHandler({ apiKeys, bodyLimitBytes, limiter, routes, logger }));
 * ```
 */
export function createApiHandler(deps: ApiDeps): RequestListener {
  const authenticate = createAuthenticator(deps.projects.apiKeys);
  const limit = deps.bodyLimitBytes;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const method = req.method ?? 'GET';
    const path = url.pathname.replace(/\/+$/, '') || '/';

    if (path === '/health' && (method === 'GET' || method === 'HEAD')) {
      sendJson(res, 200, { status: 'ok' });
      return;
    }

    const apiKey = authenticate(req.headers.authorization);
    const project = apiKey === null ? undefined : deps.projects.byKey(apiKey);
    if (!apiKey || !project) {
      answerEarly(req, res, limit, 401, errorBody(ErrorCode.unauthorized, 'missing or invalid API key: send Authorization: Bearer <key>'), {
        'www-authenticate': 'Bearer',
      });
      return;
    }

    let decision: RateDecision;
    try {
      decision = await deps.limiter.take(apiKey);
    } catch (err) {
      // Answered before the body is read, like the 429 below.
      const failure = storeUnavailable(err);
      answerEarly(req, res, limit, failure.status, errorBody(failure.code, failure.message), failure.headers);
      return;
    }
    if (!decision.ok) {
      answerEarly(req, res, limit, 429, errorBody(ErrorCode.rateLimited, `rate limit exceeded; retry in ${decision.retryAfterSeconds} s`), {
        'retry-after': String(decision.retryAfterSeconds),
      });
      return;
    }

    const match = deps.routes.match(method, path);
    if (match.kind === 'not_found') {
      answerEarly(req, res, limit, 404, errorBody(ErrorCode.notFound, `no such endpoint: ${method} ${path}`), {});
      return;
    }
    if (match.kind === 'method_not_allowed') {
      answerEarly(req, res, limit, 405, errorBody(ErrorCode.methodNotAllowed, `${method} is not allowed on ${path}; use ${match.allow.join(', ')}`), {
        allow: match.allow.join(', '),
      });
      return;
    }

    let raw: Buffer = Buffer.alloc(0);
    let body: unknown;
    if (match.route.hasBody) {
      if (!isJsonContentType(req.headers['content-type'])) {
        answerEarly(req, res, limit, 415, errorBody(ErrorCode.unsupportedMediaType, 'the body must be JSON: send Content-Type: application/json'), {});
        return;
      }
      try {
        raw = await readBody(req, limit);
      } catch (err) {
        if (err instanceof GatewayError && err.status === 413) {
          answerEarly(req, res, limit, 413, errorBody(err.code, err.message), {});
          return;
        }
        throw err;
      }
      body = parseJson(raw);
    }

    const context: RouteContext = {
      req,
      res,
      apiKey,
      project,
      params: match.params,
      body,
      rawBody: raw,
      idempotencyKey: headerValue(req.headers['idempotency-key']),
    };
    const answer = await match.route.handler(context);
    if (answer) sendJson(res, answer.status, answer.body, answer.headers ?? {});
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof GatewayError) {
        sendJson(res, err.status, errorBody(err.code, err.message), err.headers);
        return;
      }
      deps.logger.error(`${req.method ?? '?'} ${req.url ?? '?'} failed`, err);
      sendJson(res, 500, errorBody(ErrorCode.internalError, 'the gateway failed to handle this request'));
    });
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
