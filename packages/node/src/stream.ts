/**
 * Server-side streaming: follow a request's channel from a backend (Node, `ws` sockets, no
 * persistence) with `@modelriver/client`'s `EventStream`, and relay it to a browser as
 * Server-Sent Events.
 */
import {
  ModelRiverClient,
  type EventStream,
  type ModelRiverClientOptions,
  type StreamEvent,
  type TokenGrant,
  type WebSocketConstructor,
} from '@modelriver/client';
import WebSocket from 'ws';
import { InvalidRequestError } from './client/errors.js';
import type { AsyncAck, ReconnectAnswer } from './wire.js';

/** Options of {@link streamChannel}. */
export interface StreamChannelOptions {
  /**
   * Aborting sends `cancel` (the gateway stops generating) and makes the loop throw a
   * `ModelRiverError` with code `cancelled` and `isAbort: true`.
   */
  signal?: AbortSignal;
  /**
   * Asked for a fresh token when a dropped connection cannot resume with its resume token.
   * `ModelRiver#stream` passes one that calls `POST /v1/ai/reconnect`.
   */
  getToken?: (channelId: string) => Promise<TokenGrant | null | undefined>;
  /** Default: the `ws` package. */
  WebSocket?: WebSocketConstructor;
  /** Further `ModelRiverClient` options (reconnect policy, heartbeat, timers, debug). Persistence is always off. */
  clientOptions?: Omit<ModelRiverClientOptions, 'persist' | 'WebSocket' | 'getToken' | 'storage'>;
  /** After an abort, how long to wait for the gateway to confirm the cancel before closing anyway. Default 5 000. */
  cancelGraceMs?: number;
}

/**
 * Streams a request's channel from the ack of `POST /v1/ai/async` (or the answer of
 * `/v1/ai/reconnect`): an async iterable of `tokens`, `status`, `tool_call` and `response`
 * events with `finalResponse()` / `finalText()`. Reconnects and resumes losslessly on drops.
 * The underlying client is disposed once the request ends, the loop is left, or it fails.
 *
 * @example
 * ```ts
 * const ack = await modelRiver.ai.async({ workflow: 'chat', messages });
 * const stream = streamChannel(ack);
 * for await (const event of stream) {
 *   if (event.type === 'tokens') process.stdout.write(event.payload.delta);
 * }
 * const response = await stream.finalResponse(); // status: success | completed | error | cancelled
 * ```
 */
export function streamChannel(ack: AsyncAck | ReconnectAnswer, options: StreamChannelOptions = {}): EventStream {
  for (const field of ['channel_id', 'ws_token', 'websocket_url', 'websocket_channel'] as const) {
    if (typeof ack?.[field] !== 'string' || !ack[field]) {
      throw new InvalidRequestError(`streamChannel needs the ack of POST /v1/ai/async: "${field}" is missing.`, { code: 'invalid_argument' });
    }
  }
  const client = new ModelRiverClient({
    ...options.clientOptions,
    persist: false,
    WebSocket: options.WebSocket ?? (WebSocket as unknown as WebSocketConstructor),
    ...(options.getToken ? { getToken: options.getToken } : {}),
  });
  const stream = client.stream(
    { channelId: ack.channel_id, wsToken: ack.ws_token, websocketUrl: ack.websocket_url, websocketChannel: ack.websocket_channel },
    options.signal ? { signal: options.signal } : {},
  );
  const dispose = () => disposeWhenIdle(client, options.cancelGraceMs ?? 5_000);
  stream.finalResponse().then(dispose, dispose);
  return stream;
}

/**
 * Destroys the client once its link is down. The stream settles when its request ended (the
 * link is then already closed), when the loop was left (disconnected at once), or on abort:
 * then the client is still waiting for the gateway to confirm the cancel, so give it a moment.
 */
function disposeWhenIdle(client: ModelRiverClient, graceMs: number): void {
  if (client.getState().connectionState === 'disconnected') {
    client.destroy();
    return;
  }
  const timer = setTimeout(() => {
    unsubscribe();
    client.destroy();
  }, graceMs);
  (timer as { unref?: () => void }).unref?.();
  const unsubscribe = client.subscribe((state) => {
    if (state.connectionState !== 'disconnected') return;
    clearTimeout(timer);
    unsubscribe();
    client.destroy();
  });
}

/** Response headers for an SSE relay (proxies must not buffer it). */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

/**
 * One Server-Sent Event for a stream event: `event: <type>`, `id: <seq>`, `data: <payload JSON>`.
 *
 * @example
 * ```ts
 * formatSSE({ type: 'tokens', payload: { seq: 3, delta: 'Hi' } });
 * // 'event: tokens\nid: 3\ndata: {"seq":3,"delta":"Hi"}\n\n'
 * ```
 */
export function formatSSE(event: StreamEvent): string {
  // JSON.stringify escapes newlines, so the payload is always one `data:` line.
  return `event: ${event.type}\nid: ${event.payload.seq}\ndata: ${JSON.stringify(event.payload)}\n\n`;
}

/**
 * Relays a stream to a browser as Server-Sent Events (`text/event-stream` bytes): one event
 * per stream event (see {@link formatSSE}); a failure becomes a final
 * `event: error` with `{code, message}`. Cancelling the body (the browser went away) leaves
 * the loop, which disconnects; the request itself goes on.
 *
 * @example
 * ```ts
 * // Next.js App Router / Hono / Workers
 * export async function POST(req: Request) {
 *   const ack = await modelRiver.ai.async({ workflow: 'chat', messages: await req.json() });
 *   return new Response(toSSE(modelRiver.stream(ack)), { headers: SSE_HEADERS });
 * }
 * // Express: Readable.fromWeb(toSSE(stream)).pipe(res.writeHead(200, SSE_HEADERS));
 * ```
 */
export function toSSE(stream: AsyncIterable<StreamEvent>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let iterator: AsyncIterator<StreamEvent> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      iterator ??= stream[Symbol.asyncIterator]();
      try {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(formatSSE(next.value)));
      } catch (error) {
        const { code, message } = error as { code?: unknown; message?: unknown };
        const data = { code: typeof code === 'string' ? code : 'stream_failed', message: typeof message === 'string' ? message : String(error) };
        controller.enqueue(encoder.encode(`event: error\ndata: ${JSON.stringify(data)}\n\n`));
        controller.close();
      }
    },
    async cancel() {
      await iterator?.return?.();
    },
  });
}
