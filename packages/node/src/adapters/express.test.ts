import express, { type ErrorRequestHandler } from 'express';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { close, listen, post } from '../../test/support/http.js';
import { NOW_MS, OTHER_SECRET, SECRET, completedEvent, mrOnly, signedDelivery, standardOnly } from '../../test/support/webhook-fixtures.js';
import { createWebhookHandler, type WebhookHandler } from '../handler/webhook-handler.js';
import { getVerifiedWebhook, webhookMiddleware } from './express.js';

const now = () => NOW_MS;
let server: Server | undefined;
afterEach(async () => {
  if (server) await close(server);
  server = undefined;
});

async function start(app: express.Express): Promise<string> {
  server = createServer(app);
  return listen(server);
}

describe('webhookMiddleware (verify mode)', () => {
  it('reads the raw body itself, verifies, and hands the typed event to the route', async () => {
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: SECRET, now }), (req, res) => {
      const { event, scheme } = getVerifiedWebhook(req);
      res.json({ id: event.id, type: event.type, scheme, body: (req.body as { id: string }).id });
    });
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    expect(await post(`${base}/hook`, d.body, d.headers)).toEqual({
      status: 200,
      body: { id: 'evt_completed_1', type: 'task.completed', scheme: 'standard', body: 'evt_completed_1' },
    });
    expect((await post(`${base}/hook`, d.body, mrOnly(d.headers))).body).toMatchObject({ scheme: 'mr' });
  });

  it('answers a bad signature with 400 {error:{code,message}} and never reaches the route', async () => {
    const route = vi.fn((_req: express.Request, res: express.Response) => void res.sendStatus(200));
    const app = express();
    app.post('/hook', webhookMiddleware({ secrets: [OTHER_SECRET], now }), route);
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    const res = await post(`${base}/hook`, d.body, d.headers);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'bad_signature', message: expect.any(String) } });
    expect((await post(`${base}/hook`, d.body, { 'content-type': 'application/json' })).body).toMatchObject({
      error: { code: 'missing_header' },
    });
    expect(route).not.toHaveBeenCalled();
  });

  it('with express.json() mounted first: 500 body_already_parsed with a hint, passed to next as an Error', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(express.json());
    app.post('/hook', webhookMiddleware({ secret: SECRET, now }), (_req, res) => void res.sendStatus(200));
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push(err);
      res.status((err as { status: number }).status).json({ error: { code: (err as { code: string }).code, hint: (err as { hint: string }).hint } });
    };
    app.use(onError);
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    const res = await post(`${base}/hook`, d.body, d.headers);
    expect(res.status).toBe(500);
    expect(res.body).toMatchObject({ error: { code: 'body_already_parsed', hint: expect.stringContaining('before express.json()') } });
    expect(seen[0]).toBeInstanceOf(Error);
    expect(seen[0]).toMatchObject({ code: 'body_already_parsed', status: 500 });
  });

  it('with express.json() first and the default error handler: still a 500', async () => {
    const app = express();
    app.use(express.json());
    app.post('/hook', webhookMiddleware({ secret: SECRET, now }), (_req, res) => void res.sendStatus(200));
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    expect((await post(`${base}/hook`, d.body, d.headers)).status).toBe(500);
  });

  it('leaves other routes to express.json() when mounted before it', async () => {
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: SECRET, now }), (req, res) => void res.json({ ok: getVerifiedWebhook(req).event.id }));
    app.use(express.json());
    app.post('/other', (req, res) => void res.json(req.body));
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    expect((await post(`${base}/hook`, d.body, d.headers)).body).toEqual({ ok: 'evt_completed_1' });
    expect((await post(`${base}/other`, '{"a":1}', { 'content-type': 'application/json' })).body).toEqual({ a: 1 });
  });

  it('refuses a body over the limit with 413, by Content-Length or while streaming', async () => {
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: SECRET, now, maxBodyBytes: 100 }), (_req, res) => void res.sendStatus(200));
    const base = await start(app);
    const big = 'x'.repeat(1000);
    const declared = await post(`${base}/hook`, big, { 'content-type': 'application/json' });
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({ error: { code: 'body_too_large' } });

    // Chunked: no Content-Length, so the limit trips while reading.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${base}/hook`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('y'.repeat(50));
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ error: { code: 'body_too_large' } });
  });

  it('verifies bodies with multi-byte UTF-8 exactly', async () => {
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: SECRET, now }), (req, res) => void res.json({ content: getVerifiedWebhook(req).event.content }));
    const base = await start(app);
    const d = signedDelivery(completedEvent({ content: 'héllo — 🌊 日本' }));
    expect((await post(`${base}/hook`, d.body, d.headers)).body).toEqual({ content: 'héllo — 🌊 日本' });
  });

  it('needs a usable secret or a handler, checked at creation', () => {
    for (const options of [{}, { secret: '' }, { secrets: [] }, { secret: undefined as unknown as string }]) {
      expect(() => webhookMiddleware(options as never), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'invalid_secret', message: expect.stringContaining('webhookMiddleware') }),
      );
    }
    expect(() => webhookMiddleware({ secret: SECRET, toleranceSec: -1 })).toThrow(expect.objectContaining({ code: 'invalid_options' }));
  });

  it('verifies a webhook-signature header sent twice (Node joins the repeats with ", "), the valid one last', async () => {
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: SECRET, now }), (req, res) => void res.json({ joined: req.headers['webhook-signature'] }));
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    const other = signedDelivery(completedEvent(), { secret: OTHER_SECRET }).headers['webhook-signature'];
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const headers = { ...standardOnly(d.headers), 'content-type': 'application/json', 'webhook-signature': [other, d.headers['webhook-signature']] };
      const req = httpRequest(`${base}/hook`, { method: 'POST', headers }, (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c));
        r.on('end', () => resolve({ status: r.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.end(d.body);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ joined: `${other}, ${d.headers['webhook-signature']}` });
  });

  it('a body cut off by the sender is answered 400 invalid_body, not handed to next() as a bare Error', async () => {
    let settle!: (outcome: { ended?: { status: number; body: unknown }; next?: unknown }) => void;
    const outcome = new Promise<{ ended?: { status: number; body: unknown }; next?: unknown }>((resolve) => (settle = resolve));
    let arrived!: () => void;
    const inMiddleware = new Promise<void>((resolve) => (arrived = resolve));
    const middleware = webhookMiddleware({ secret: SECRET, now });
    const app = express();
    app.post(
      '/hook',
      (req, res, next) => {
        // Records what the middleware answers (the socket is gone, so the sender cannot read it).
        const end = res.end.bind(res) as (chunk: unknown) => express.Response;
        res.end = ((chunk: unknown) => {
          settle({ ended: { status: res.statusCode, body: JSON.parse(String(chunk)) as unknown } });
          return end(chunk);
        }) as typeof res.end;
        middleware(req, res, next);
        arrived();
      },
      (_req, res) => void res.sendStatus(200),
    );
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      settle({ next: err });
      res.sendStatus(500);
    };
    app.use(onError);
    const base = new URL(await start(app));
    const socket = connect(Number(base.port), base.hostname);
    socket.on('error', () => undefined);
    socket.write(`POST /hook HTTP/1.1\r\nhost: ${base.host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"id":`);
    await inMiddleware;
    socket.destroy();
    expect(await outcome).toEqual({ ended: { status: 400, body: { error: { code: 'invalid_body', message: 'The request body could not be read.' } } } });
  });

  it('getVerifiedWebhook says what to mount when nothing was verified', () => {
    expect(() => getVerifiedWebhook({})).toThrow(/webhookMiddleware/);
  });
});

describe('webhookMiddleware (handler mode)', () => {
  it('answers with the handler: 200 then a duplicate', async () => {
    const onCompleted = vi.fn();
    const app = express();
    app.post('/hook', webhookMiddleware({ handler: createWebhookHandler({ secret: SECRET, now, onCompleted }) }));
    const base = await start(app);
    const d = signedDelivery(completedEvent());
    expect(await post(`${base}/hook`, d.body, d.headers)).toEqual({ status: 200, body: { received: true } });
    expect(await post(`${base}/hook`, d.body, d.headers)).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(onCompleted).toHaveBeenCalledOnce();
    const bad = await post(`${base}/hook`, `${d.body}\n`, d.headers);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'bad_signature' } } });
  });

  it('passes a rejecting handler\'s error to next, with no unhandled rejection', async () => {
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      const failing: WebhookHandler = {
        handle: () => Promise.reject(new Error('store unreachable')),
        dispatch: () => Promise.reject(new Error('unused')),
      };
      const seen: unknown[] = [];
      const app = express();
      app.post('/hook', webhookMiddleware({ handler: failing }));
      const onError: ErrorRequestHandler = (err, _req, res, _next) => {
        seen.push(err);
        res.status(503).json({ error: { code: 'custom', message: (err as Error).message } });
      };
      app.use(onError);
      const base = await start(app);
      const d = signedDelivery(completedEvent());
      expect(await post(`${base}/hook`, d.body, d.headers)).toEqual({ status: 503, body: { error: { code: 'custom', message: 'store unreachable' } } });
      expect(seen).toHaveLength(1);
      // An unhandled rejection is reported after the current macrotask: give it one.
      await new Promise((r) => setImmediate(r));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
