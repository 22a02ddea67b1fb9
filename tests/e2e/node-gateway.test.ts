/**
 * End to end, over real sockets on 127.0.0.1: the reference gateway, a backend built with
 * `@modelriver/node` (API client, channel streaming, an Express webhook receiver that verifies
 * and calls back), and the event-driven flow between them.
 */
import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ModelRiver,
  createWebhookHandler,
  getVerifiedWebhook,
  streamChannel,
  webhookMiddleware,
  type AiGeneratedWebhook,
  type StreamEvent,
  type VerifiedWebhook,
  type WebhookEvent,
  type WebhookHandlerOptions,
} from '@modelriver/node';
import { startGateway, type RunningGateway } from '../../examples/gateway/src/gateway.js';

/** The part of Express this test uses. */
interface ExpressApp {
  (req: IncomingMessage, res: ServerResponse): void;
  post(path: string, ...handlers: unknown[]): void;
}
// Express is a devDependency of @modelriver/node, not of the workspace root: resolve it from there.
const express = createRequire(new URL('../../packages/node/package.json', import.meta.url))('express') as () => ExpressApp;

let gw: RunningGateway | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await gw?.close();
  if (receiver) {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver!.close(() => resolve()));
  }
  gw = undefined;
  receiver = undefined;
});

async function listen(app: ExpressApp): Promise<string> {
  receiver = createServer(app);
  await new Promise<void>((resolve) => receiver!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'tokens' ? e.payload.delta : '')).join('');
const messages = [{ role: 'user', content: 'New chat from Ada' }];

async function startBackend(handlerOptions: (client: ModelRiver) => Omit<WebhookHandlerOptions, 'secret' | 'secrets' | 'client'>) {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0, webhookRetryScheduleMs: [50, 100], webhookTimeoutMs: 5_000 });
  const modelRiver = new ModelRiver({ apiKey: gw.apiKey, baseUrl: gw.url });
  const app = express();
  const handler = createWebhookHandler({ secret: gw.webhookSecret, client: modelRiver, ...handlerOptions(modelRiver) } as WebhookHandlerOptions);
  app.post('/webhooks/modelriver', webhookMiddleware({ handler }));
  const base = await listen(app);
  return { gw, modelRiver, webhookUrl: `${base}/webhooks/modelriver` };
}

describe('@modelriver/node against the reference gateway', () => {
  it('async → stream → ai_generated → verified webhook → callback → completed with the enriched data', async () => {
    const seen: AiGeneratedWebhook[] = [];
    const { gw, modelRiver, webhookUrl } = await startBackend(() => ({
      onAiGenerated: async (event) => {
        seen.push(event);
        return {
          data: { ...(event.ai_response.data as Record<string, unknown>), ticket: 42, enriched: true },
          task_id: 'task-e2e',
          metadata: { source: 'e2e' },
        };
      },
    }));

    const ack = await modelRiver.ai.async({ workflow: 'chat-event', messages, webhook_url: webhookUrl, metadata: { crm: 'c-1' } });
    expect(ack).toMatchObject({ status: 'pending', customer_data: { crm: 'c-1' }, websocket_url: gw.wsUrl });

    const stream = modelRiver.stream(ack);
    const events = await collect(stream);
    const responses = events.filter((e) => e.type === 'response').map((e) => e.payload);
    expect(responses.map((r) => r.status)).toEqual(['ai_generated', 'completed']);
    const text = textOf(events);
    expect(text.length).toBeGreaterThan(0);
    expect(responses[0]).toMatchObject({ event_name: 'new_chat', content: text, ai_response: { data: { content: text } } });

    const final = await stream.finalResponse();
    expect(final).toMatchObject({
      status: 'completed',
      data: { content: text, ticket: 42, enriched: true },
      task_id: 'task-e2e',
      callback_metadata: { source: 'e2e' },
      customer_data: { crm: 'c-1' },
    });

    // The webhook the handler saw was the gateway's, verified, typed, and handled once.
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      type: 'task.ai_generated',
      channel_id: ack.channel_id,
      event: 'new_chat',
      callback_url: `${gw.url}/v1/callback/${ack.channel_id}`,
      customer_data: { crm: 'c-1' },
    });

    const log = await modelRiver.requests.get(ack.channel_id);
    expect(log).toMatchObject({ workflow: 'chat-event', status: 'completed', callback: { status: 'received' } });
    expect(log.webhooks).toEqual([
      expect.objectContaining({ type: 'task.ai_generated', state: 'delivered', attempts: [expect.objectContaining({ attempt: 1, status: 200 })] }),
    ]);
  });

  it('a backend that throws reports a generic backend_error through the callback; the detail stays in onError', async () => {
    const errors: unknown[] = [];
    const { modelRiver, webhookUrl } = await startBackend(() => ({
      onError: (e) => void errors.push(e),
      onAiGenerated: () => {
        throw new Error('CRM is down');
      },
    }));
    const ack = await modelRiver.ai.async({ workflow: 'chat-event', messages, webhook_url: webhookUrl });
    const final = await streamChannel(ack).finalResponse();
    // The exception's text is the backend's business: the end user sees a generic message.
    expect(final).toMatchObject({ status: 'error', error: { code: 'backend_error', message: 'The backend could not complete this request.' } });
    expect(JSON.stringify(final)).not.toContain('CRM is down');
    expect(errors).toEqual([expect.objectContaining({ message: 'CRM is down' })]);
  });

  it('a plain request: the stream text equals the task.completed webhook, verified by the Express middleware', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const received: VerifiedWebhook[] = [];
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: gw.webhookSecret }), (req: IncomingMessage, res: ServerResponse) => {
      received.push(getVerifiedWebhook(req));
      res.end('{"ok":true}');
    });
    const url = `${await listen(app)}/hook`;
    const modelRiver = new ModelRiver({ apiKey: gw.apiKey, baseUrl: gw.url });
    const ack = await modelRiver.ai.async({ workflow: 'chat', messages, webhook_url: url });
    const stream = modelRiver.stream(ack);
    const text = await stream.finalText();
    expect((await stream.finalResponse()).status).toBe('success');
    await vi.waitFor(() => expect(received).toHaveLength(1));
    const [hook] = received as [VerifiedWebhook];
    expect(hook.scheme).toBe('standard');
    const event: WebhookEvent = hook.event;
    expect(event).toMatchObject({ type: 'task.completed', channel_id: ack.channel_id, content: text });
  });

  it('a receiver with the wrong secret refuses every attempt; the gateway logs them and dead-letters the delivery', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0, webhookRetryScheduleMs: [20, 20] });
    const app = express();
    app.post('/hook', webhookMiddleware({ secret: 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD' }), (_req: IncomingMessage, res: ServerResponse) => void res.end());
    const url = `${await listen(app)}/hook`;
    const modelRiver = new ModelRiver({ apiKey: gw.apiKey, baseUrl: gw.url });
    const ack = await modelRiver.ai.async({ workflow: 'chat', messages, webhook_url: url });
    await streamChannel(ack).finalResponse();
    await vi.waitFor(async () => {
      const log = await modelRiver.requests.get(ack.channel_id);
      expect(log.webhooks[0]).toMatchObject({ state: 'dead' });
      expect(log.webhooks[0]!.attempts.map((a) => a.status)).toEqual([400, 400, 400]);
    });
  });
});
