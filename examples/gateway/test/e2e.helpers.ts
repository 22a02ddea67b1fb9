/**
 * Helpers for the gateway's HTTP and end-to-end tests: an API caller bound to a started gateway,
 * a raw `ws` channel client that records every event and lets tests await the ones they expect,
 * and a local webhook receiver.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import type { ResponsePayload } from '@modelriver/client';
import type { AsyncAck } from '@modelriver/node';
import type { RunningGateway } from '../src/gateway.js';

/** An HTTP answer with its parsed JSON body. */
export interface ApiAnswer<T = Record<string, any>> {
  status: number;
  headers: Headers;
  body: T;
}

/** Options of {@link api}. */
export interface ApiOptions {
  method?: string;
  /** Defaults to the gateway's key; `null` sends no Authorization header. */
  apiKey?: string | null;
  headers?: Record<string, string>;
  /** Sent as is (not JSON-encoded). */
  rawBody?: string;
}

/**
 * Calls the gateway's API. A `body` is JSON-encoded; the answer's body is parsed as JSON.
 *
 * @example
 * ```ts
 * const ack = await api(gw, '/v1/ai/async', { workflow: 'chat', messages });
 * ```
 */
export async function api<T = Record<string, any>>(gw: RunningGateway, path: string, body?: unknown, options: ApiOptions = {}): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.apiKey === undefined ? gw.apiKey : options.apiKey;
  if (key !== null) headers['authorization'] = `Bearer ${key}`;
  let payload: string | undefined = options.rawBody;
  if (payload === undefined && body !== undefined) payload = JSON.stringify(body);
  if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = 'application/json';
  }
  const method = options.method ?? (payload === undefined ? 'GET' : 'POST');
  const res = await fetch(`${gw.url}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : null) as T };
}

/** A user message list for a prompt. */
export const ask = (content: string) => [{ role: 'user', content }];

/**
 * Starts an async request and returns its ack (fails the test on a non-202).
 *
 * @example
 * ```ts
 * const ack = await startAsync(gw, 'chat', 'Hello');
 * ```
 */
export async function startAsync(gw: RunningGateway, workflow: string, prompt: string, extra: Record<string, unknown> = {}): Promise<AsyncAck> {
  const answer = await api<AsyncAck>(gw, '/v1/ai/async', { workflow, messages: ask(prompt), ...extra });
  if (answer.status !== 202) throw new Error(`expected 202, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** One server event as received. */
export interface ReceivedEvent {
  event: string;
  payload: Record<string, any>;
}

/** A raw Phoenix v2 client on one channel. */
export interface ChannelClient {
  ws: WebSocket;
  /** Every server event received on the topic (replies excluded), in order. */
  events: ReceivedEvent[];
  joinReply: Record<string, any>;
  /** Resolves with the first event (already received or future) matching `predicate`. */
  waitFor(predicate: (e: ReceivedEvent) => boolean, timeoutMs?: number): Promise<ReceivedEvent>;
  /** Resolves with the terminal `response` payload (success, error, cancelled, completed). */
  terminal(timeoutMs?: number): Promise<ResponsePayload>;
  /** Pushes an event on the topic and resolves with its reply payload. */
  push(event: string, payload: Record<string, unknown>): Promise<Record<string, any>>;
  /** Concatenated `tokens` deltas received so far. */
  text(): string;
  close(): Promise<void>;
}

const TERMINAL = new Set(['success', 'error', 'cancelled', 'completed']);

/**
 * Connects with a token and joins the topic (optionally resuming after `lastSeq`).
 *
 * @example
 * ```ts
 * const channel = await joinChannel(ack.websocket_url, ack.ws_token, ack.websocket_channel);
 * const final = await channel.terminal();
 * ```
 */
export async function joinChannel(websocketUrl: string, token: string, topic: string, lastSeq?: number): Promise<ChannelClient> {
  const ws = new WebSocket(`${websocketUrl}/websocket?token=${encodeURIComponent(token)}&vsn=2.0.0`);
  const events: ReceivedEvent[] = [];
  const waiters: Array<{ predicate: (e: ReceivedEvent) => boolean; resolve: (e: ReceivedEvent) => void }> = [];
  const replies = new Map<string, (payload: Record<string, any>) => void>();
  let ref = 0;

  ws.on('message', (raw) => {
    const [, msgRef, msgTopic, event, payload] = JSON.parse(String(raw)) as [string | null, string | null, string, string, Record<string, any>];
    if (event === 'phx_reply') {
      const resolve = msgRef ? replies.get(msgRef) : undefined;
      if (resolve && msgRef) {
        replies.delete(msgRef);
        resolve(payload);
      }
      return;
    }
    if (msgTopic !== topic) return;
    const received = { event, payload };
    events.push(received);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(received)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(received);
      }
    }
  });

  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });

  const send = (event: string, payload: Record<string, unknown>): Promise<Record<string, any>> => {
    const r = String(++ref);
    const reply = new Promise<Record<string, any>>((resolve) => replies.set(r, resolve));
    ws.send(JSON.stringify(['1', r, topic, event, payload]));
    return reply;
  };

  const joinReply = await send('phx_join', lastSeq === undefined ? {} : { last_seq: lastSeq });

  const waitFor = (predicate: (e: ReceivedEvent) => boolean, timeoutMs = 10_000): Promise<ReceivedEvent> => {
    const found = events.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve: (e: ReceivedEvent) => { clearTimeout(timer); resolve(e); } };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for an event; got ${events.map((e) => `${e.event}:${e.payload['status'] ?? ''}`).join(', ')}`));
      }, timeoutMs);
      waiters.push(waiter);
    });
  };

  return {
    ws,
    events,
    joinReply,
    waitFor,
    async terminal(timeoutMs) {
      const e = await waitFor((x) => x.event === 'response' && TERMINAL.has(x.payload['status']), timeoutMs);
      return e.payload as ResponsePayload;
    },
    push: send,
    text: () => events.filter((e) => e.event === 'tokens').map((e) => e.payload['delta']).join(''),
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === WebSocket.CLOSED) return resolve();
        ws.once('close', () => resolve());
        ws.close();
      }),
  };
}

/** A joined channel for an ack. */
export function joinAck(ack: AsyncAck, lastSeq?: number): Promise<ChannelClient> {
  return joinChannel(ack.websocket_url, ack.ws_token, ack.websocket_channel, lastSeq);
}

/** One request received by {@link startReceiver}. */
export interface ReceivedWebhook {
  headers: IncomingMessage['headers'];
  raw: string;
  body: Record<string, any>;
}

/** A local webhook receiver. */
export interface Receiver {
  url: string;
  received: ReceivedWebhook[];
  /** HTTP status to answer with (mutable). Default 200. */
  status: number;
  /** Called for each delivery after it is recorded. */
  onDelivery?: (hook: ReceivedWebhook) => void;
  waitFor(predicate: (hook: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

/**
 * Starts a webhook receiver on 127.0.0.1:0 that records every delivery.
 *
 * @example
 * ```ts
 * const receiver = await startReceiver();
 * const hook = await receiver.waitFor((h) => h.body.type === 'task.completed');
 * ```
 */
export async function startReceiver(): Promise<Receiver> {
  const waiters: Array<{ predicate: (h: ReceivedWebhook) => boolean; resolve: (h: ReceivedWebhook) => void }> = [];
  const receiver: Receiver = {
    url: '',
    received: [],
    status: 200,
    waitFor(predicate, timeoutMs = 10_000) {
      const found = receiver.received.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter = { predicate, resolve: (h: ReceivedWebhook) => { clearTimeout(timer); resolve(h); } };
        const timer = setTimeout(() => reject(new Error('timed out waiting for a webhook')), timeoutMs);
        waiters.push(waiter);
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const hook = { headers: req.headers, raw, body: JSON.parse(raw) as Record<string, any> };
      receiver.received.push(hook);
      res.writeHead(receiver.status).end();
      receiver.onDelivery?.(hook);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(hook)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(hook);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return receiver;
}

/**
 * Resolves once `check` returns a truthy value (polled every few ms), for state that changes
 * without an event the test can subscribe to (e.g. a delivery moving to the dead letters).
 *
 * @example
 * ```ts
 * await until(async () => (await api(gw, '/v1/webhooks/dead-letters')).body.dead_letters.length === 1);
 * ```
 */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
