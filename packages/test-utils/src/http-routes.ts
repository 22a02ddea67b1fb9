/**
 * The fake's HTTP side: `POST /v1/ai/reconnect` (and the `/api/v1/ai/reconnect`
 * path a client's backend proxy exposes), so `reconnectWithBackend()` can be
 * tested end to end. No auth: the fake stands in for both the gateway and the
 * customer's backend.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeChannel } from './fake-channel.js';

/** One HTTP request the fake served. */
export interface RecordedHttpRequest {
  method: string;
  path: string;
  /** Parsed JSON body, or `undefined` when absent or not JSON. */
  body: unknown;
  status: number;
  at: number;
}

/** A failure every reconnect request gets while set. */
export interface HttpFailure {
  status: number;
  code: string;
  message?: string;
}

/** What the routes need from the gateway. */
export interface HttpHost {
  readonly url: string;
  readonly projectId: string;
  readonly reconnectFailure: HttpFailure | null;
  channel(channelId: string): FakeChannel | undefined;
  now(): number;
  recordHttp(request: RecordedHttpRequest): void;
}

const RECONNECT_PATHS = new Set(['/v1/ai/reconnect', '/api/v1/ai/reconnect']);
const MAX_BODY_BYTES = 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Serves one HTTP request. Never throws: every outcome is a JSON answer.
 *
 * @example
 * http.createServer((req, res) => void handleHttp(host, req, res));
 */
export async function handleHttp(host: HttpHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? 'GET';
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  const text = await readBody(req);
  const body = text === null || text === '' ? undefined : parseJson(text);
  const answer = (status: number, json: unknown): void => {
    host.recordHttp({ method, path, body, status, at: host.now() });
    const payload = JSON.stringify(json);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    res.end(payload);
  };
  const error = (status: number, code: string, message: string): void => answer(status, { error: { code, message } });

  if (method === 'GET' && path === '/health') return answer(200, { status: 'ok' });
  if (!RECONNECT_PATHS.has(path)) return error(404, 'not_found', `No route for ${method} ${path}`);
  if (method !== 'POST') return error(405, 'method_not_allowed', `${path} accepts POST only`);
  if (text === null) return error(413, 'body_too_large', 'Body exceeds 1 MiB');
  const failure = host.reconnectFailure;
  if (failure) return error(failure.status, failure.code, failure.message ?? 'Simulated failure');
  const channelId = (body as { channel_id?: unknown } | undefined)?.channel_id;
  if (typeof body !== 'object' || body === null || typeof channelId !== 'string' || channelId === '') {
    return error(400, 'invalid_body', 'channel_id is required and must be a string');
  }
  const channel = host.channel(channelId);
  if (!channel) return error(404, 'not_found', `Unknown channel ${channelId}`);
  return answer(200, {
    channel_id: channel.channelId,
    project_id: host.projectId,
    ws_token: channel.issueToken(),
    websocket_url: host.url,
    websocket_channel: channel.topic,
  });
}
