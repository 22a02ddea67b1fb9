/**
 * The chatbot's backend as an Express app: the browser asks it for answers (`POST /api/chat`),
 * fresh socket tokens (`POST /api/v1/ai/reconnect`) and request logs (`GET /api/requests/:id`),
 * so the API key never leaves the server; the gateway delivers its signed webhooks to
 * `POST /webhooks/modelriver`, where event-driven answers are enriched and called back.
 */
import { join } from 'node:path';
import express, { type ErrorRequestHandler, type Express, type Response } from 'express';
import { APIError, ModelRiver, webhookMiddleware, type AsyncAck } from '@modelriver/node';
import { isChannelId, readChatRequest, type InputError } from './chat-request.js';
import { createWebhookEndpoint } from './webhook-endpoint.js';

/** Options of {@link createChatbotApp}. */
export interface ChatbotAppOptions {
  /** The gateway's API client (holds the key). */
  modelRiver: ModelRiver;
  /** The gateway's webhook signing secret. */
  webhookSecret: string;
  /** Where the gateway can reach this backend's `POST /webhooks/modelriver`. */
  webhookUrl: string;
  /**
   * The socket URL the browser should use, when it is not the one the gateway announces (a proxy
   * in front of the gateway). Replaces `websocket_url` in every ack and reconnect answer.
   */
  browserSocketUrl?: string;
  /** The built frontend to serve at `/`; none: API only. */
  staticDir?: string;
  /** One line per request as it flows. Default: none. */
  log?: (line: string) => void;
  /** Largest JSON body accepted on `/api`. Default 64 KiB. */
  maxBodyBytes?: number;
}

const short = (channelId: string): string => channelId.slice(0, 8);

/** The contract's error answer. */
function sendError(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

/**
 * Creates the backend. Mount it on a server of your own (`http.createServer(app)`).
 *
 * @example
 * ```ts
 * const app = createChatbotApp({ modelRiver, webhookSecret, webhookUrl: 'http://127.0.0.1:3000/webhooks/modelriver' });
 * app.listen(3000);
 * ```
 */
export function createChatbotApp(options: ChatbotAppOptions): Express {
  const { modelRiver } = options;
  const log = options.log ?? (() => undefined);
  const app = express();
  app.disable('x-powered-by');

  // The webhook route reads the raw body itself (the signature covers the exact bytes), so it
  // comes before the JSON parser.
  app.post('/webhooks/modelriver', webhookMiddleware({ handler: createWebhookEndpoint({ modelRiver, secret: options.webhookSecret, log }) }));

  app.use('/api', express.json({ limit: options.maxBodyBytes ?? 64 * 1024 }));

  const forBrowser = <T extends { websocket_url: string }>(answer: T): T =>
    options.browserSocketUrl === undefined ? answer : { ...answer, websocket_url: options.browserSocketUrl };

  app.post('/api/chat', async (req, res) => {
    const checked = readChatRequest(req.body);
    if ('error' in checked) {
      log(`  ✗ refused a chat request: ${checked.error.code}: ${checked.error.message}`);
      res.status(400).json(checked satisfies InputError);
      return;
    }
    // The backend names the answer it is waiting for; the gateway echoes both ids in every
    // event, webhook and log, which is how the webhook finds its way back to them.
    const messageId = `msg_${crypto.randomUUID().slice(0, 12)}`;
    const ack: AsyncAck = await modelRiver.ai.async({
      workflow: checked.workflow,
      messages: checked.messages,
      webhook_url: options.webhookUrl,
      ...(checked.workflow === 'chat-event' ? { events: ['new_chat'] } : {}),
      metadata: { conversationId: checked.conversationId, messageId },
    });
    log(`→ ${short(ack.channel_id)} ${checked.workflow}: started (conversation ${checked.conversationId}, ${messageId})`);
    res.status(202).json(forBrowser(ack));
  });

  // `@modelriver/client` asks here (`{apiBaseUrl}/api/v1/ai/reconnect`) when its resume token is spent.
  app.post('/api/v1/ai/reconnect', async (req, res) => {
    const channelId = (req.body as { channel_id?: unknown } | undefined)?.channel_id;
    if (!isChannelId(channelId)) {
      sendError(res, 400, 'invalid_field', 'channel_id must be a channel id');
      return;
    }
    const answer = await modelRiver.ai.reconnect(channelId);
    log(`↻ ${short(channelId)}: fresh socket token for a reconnecting browser`);
    res.json(forBrowser(answer));
  });

  app.get('/api/requests/:id', async (req, res) => {
    const id = req.params.id;
    if (!isChannelId(id)) {
      sendError(res, 400, 'invalid_field', 'not a channel id');
      return;
    }
    res.json(await modelRiver.requests.get(id));
  });

  app.use('/api', (_req, res) => sendError(res, 404, 'not_found', 'no such endpoint'));

  if (options.staticDir !== undefined) {
    const dir = options.staticDir;
    app.use(express.static(dir, { index: 'index.html' }));
    // The page is one document: any other GET that wants HTML gets it.
    app.get(/.*/, (req, res, next) => (req.accepts('html') ? res.sendFile(join(dir, 'index.html')) : next()));
  }

  const onError: ErrorRequestHandler = (err: unknown, _req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e = err as { type?: unknown; status?: unknown };
    // body-parser's refusals: the client's fault, answered in the contract's shape.
    if (e.type === 'entity.too.large') return sendError(res, 400, 'body_too_large', 'the body is over the size limit');
    if (e.type === 'entity.parse.failed') return sendError(res, 400, 'invalid_json', 'the body is not valid JSON');
    if (typeof e.type === 'string' && typeof e.status === 'number' && e.status < 500) return sendError(res, 400, 'invalid_request', 'the body could not be read');
    if (err instanceof APIError && err.status !== undefined && err.status >= 400 && err.status < 500) {
      // The gateway's verdict on this request (an unknown channel, a rate limit): the browser may act on its code.
      log(`  ✗ gateway refused: ${err.code} (${err.status})`);
      return sendError(res, err.status === 401 || err.status === 403 ? 502 : err.status, err.code, err.message);
    }
    log(`  ✗ ${err instanceof Error ? err.message : String(err)}`);
    sendError(res, 502, 'gateway_unavailable', 'the gateway could not be reached');
  };
  app.use(onError);
  return app;
}
