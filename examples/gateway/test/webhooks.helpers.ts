/**
 * Test helpers for the webhook dispatcher: a real node:http receiver on 127.0.0.1:0 and a
 * recorder of the dispatcher's callbacks that tests can await instead of sleeping.
 */
import { once, EventEmitter } from 'node:events';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookAttemptLog, WebhookEvent } from '@modelriver/node';
import type { WebhookDelivery } from '../src/webhooks/index.js';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** Raw body bytes as received. */
  raw: Buffer;
  body: string;
}

/** What the receiver does with request `n` (0-based): answer a status, or never answer. */
export type Responder = (n: number, req: ReceivedRequest) => number | 'hang' | { status: number; headers: Record<string, string> };

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  respond: Responder;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(respond: Responder = () => 200): Promise<Receiver> {
  const events = new EventEmitter();
  const hanging: ServerResponse[] = [];
  const receiver: Receiver = {
    url: '',
    requests: [],
    respond,
    async waitForRequests(count) {
      while (receiver.requests.length < count) await once(events, 'request');
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const record: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body: raw.toString('utf8') };
      const n = receiver.requests.length;
      receiver.requests.push(record);
      const answer = receiver.respond(n, record);
      events.emit('request');
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
      res.writeHead(status, { 'content-type': 'text/plain', ...headers });
      res.end(status >= 200 && status < 300 ? 'ok' : 'nope');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/** A port that nothing listens on (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

export interface Recorder {
  attempts: Array<{ id: string; attempt: WebhookAttemptLog }>;
  settled: Array<{ id: string; state: WebhookDelivery['state'] }>;
  onAttempt: (delivery: WebhookDelivery, attempt: WebhookAttemptLog) => void;
  onSettled: (delivery: WebhookDelivery) => void;
  /** Resolves when `predicate` holds, re-checked after every callback. */
  waitFor(predicate: () => boolean): Promise<void>;
}

export function recorder(): Recorder {
  const events = new EventEmitter();
  const rec: Recorder = {
    attempts: [],
    settled: [],
    onAttempt(delivery, attempt) {
      rec.attempts.push({ id: delivery.id, attempt });
      events.emit('change');
    },
    onSettled(delivery) {
      rec.settled.push({ id: delivery.id, state: delivery.state });
      events.emit('change');
    },
    async waitFor(predicate) {
      while (!predicate()) await once(events, 'change');
    },
  };
  return rec;
}

let counter = 0;

/** A `task.completed` webhook body with non-ASCII text, so byte-exactness is exercised. */
export function completedEvent(overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  counter += 1;
  return {
    id: `evt_${counter}_${Math.random().toString(36).slice(2)}`,
    type: 'task.completed',
    workflow: 'chat',
    status: 'success',
    channel_id: '6f1c7a52-3c53-4f4e-9d1e-0d1b5b0f7a11',
    content: 'Héllo wörld — ✓ 🚀 "quoted" \\ back\nslash',
    meta: {
      provider: 'mock',
      model: 'mock-1',
      duration_ms: 12,
      ttft_ms: 3,
      usage: { prompt_tokens: 3, completion_tokens: 5, total_tokens: 8 },
      attempts: [{ provider: 'mock', model: 'mock-1', status: 'success', duration_ms: 12 }],
      structured_output: false,
    },
    customer_data: { user: 'u_1' },
    timestamp: '2025-01-01T00:00:00.000Z',
    ...overrides,
  } as WebhookEvent;
}
