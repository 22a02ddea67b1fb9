import type {
  AiRequestBody,
  AsyncAck,
  CallbackBody,
  ReconnectAnswer,
  RequestLog,
  SyncAnswer,
} from '../wire.js';
import type { EventStream } from '@modelriver/client';
import { streamChannel, type StreamChannelOptions } from '../stream.js';
import { ModelRiverError } from '@modelriver/client/errors';
import { InvalidRequestError } from './errors.js';
import { defaultSleep, send, type RequestOptions, type TransportConfig } from './transport.js';

/** Options of {@link ModelRiver}. */
export interface ModelRiverOptions {
  /** `mr_live_…` / `mr_test_…`. Default: `process.env.MODELRIVER_API_KEY`. */
  apiKey?: string;
  /** The gateway's HTTP base URL. Default: `process.env.MODELRIVER_BASE_URL`, else `https://api.modelriver.com`. */
  baseUrl?: string;
  /** Overall deadline of a call, every attempt and wait included, in ms in (0, 2 147 483 647]. Default 60 000. */
  timeoutMs?: number;
  /** Retries after the first attempt (on 408/409/429/5xx and connection errors). Default 2. */
  maxRetries?: number;
  /** Longest `Retry-After` the client waits; a longer one fails the call at once. Default 60 000. */
  maxRetryAfterMs?: number;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Jitter source in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Waits between attempts; must reject when `signal` aborts. Default: `setTimeout`. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Clock in epoch ms (Retry-After dates, the deadline). Default `Date.now`. */
  now?: () => number;
  /** Makes an `Idempotency-Key` for a call that was given none. Default `crypto.randomUUID()`. */
  idempotencyKey?: () => string;
}

/** Options of {@link ModelRiver.callback} and {@link ModelRiver.callbackError}. */
export interface CallbackOptions extends RequestOptions {
  /**
   * The webhook's `callback_url`. Used only when it is on the same origin as `baseUrl`, so the
   * API key is never sent elsewhere; otherwise `{baseUrl}/v1/callback/{channelId}`.
   */
  url?: string;
}

/** `{status: 'ok'}`: the gateway took the callback. */
export interface CallbackAnswer {
  status: 'ok';
  [key: string]: unknown;
}

const DEFAULT_BASE_URL = 'https://api.modelriver.com';

/**
 * Typed client of the gateway's HTTP API, with retries (exponential backoff with full jitter,
 * or `Retry-After` up to `maxRetryAfterMs`), one `Idempotency-Key` per call kept across its
 * attempts, one overall deadline per call and `AbortSignal` support.
 *
 * @example
 * ```ts
 * import { ModelRiver } from '@modelriver/node';
 *
 * const modelRiver = new ModelRiver({ apiKey: process.env.MODELRIVER_API_KEY, baseUrl: 'http://127.0.0.1:8787' });
 * const ack = await modelRiver.ai.async({ workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
 * console.log(ack.channel_id, ack.websocket_url);
 * ```
 */
export class ModelRiver {
  /** The normalised base URL (no trailing slash, no `/v1`). */
  readonly baseUrl: string;
  // A #private field: the key stays out of JSON.stringify(client) and console.log(client).
  readonly #config: TransportConfig;

  /** AI requests. */
  readonly ai: {
    /** `POST /v1/ai/async`: starts a request; stream it with the ack's token. */
    async(body: AiRequestBody, options?: RequestOptions): Promise<AsyncAck>;
    /** `POST /v1/ai`: runs a request to the end. */
    sync(body: AiRequestBody, options?: RequestOptions): Promise<SyncAnswer>;
    /** `POST /v1/ai/reconnect`: a fresh single-use token for a channel. */
    reconnect(channelId: string, options?: RequestOptions): Promise<ReconnectAnswer>;
  };

  /** Request logs. */
  readonly requests: {
    /** `GET /v1/requests/{channelId}`. */
    get(channelId: string, options?: RequestOptions): Promise<RequestLog>;
  };

  constructor(options: ModelRiverOptions = {}) {
    const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
    const apiKey = options.apiKey ?? env.MODELRIVER_API_KEY;
    if (typeof apiKey !== 'string' || !apiKey) {
      throw new ModelRiverError('missing_api_key', 'No API key: pass { apiKey } or set MODELRIVER_API_KEY.');
    }
    // A key that cannot be a header value would make fetch quote it in an error; refuse it here, unquoted.
    if (/[^\x21-\x7e]/.test(apiKey)) {
      throw new ModelRiverError('invalid_api_key', 'The API key contains whitespace or control characters.');
    }
    this.baseUrl = normaliseBaseUrl(options.baseUrl ?? env.MODELRIVER_BASE_URL ?? DEFAULT_BASE_URL);
    const fetchImpl = options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!fetchImpl) throw new ModelRiverError('invalid_argument', 'No fetch in this runtime: pass { fetch }.');
    this.#config = {
      apiKey,
      timeoutMs: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
      fetch: fetchImpl,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? defaultSleep,
      now: options.now ?? Date.now,
      newIdempotencyKey: options.idempotencyKey ?? (() => globalThis.crypto.randomUUID()),
    };

    this.ai = {
      async: (body, opts) => this.post<AsyncAck>('/v1/ai/async', body, opts),
      sync: (body, opts) => this.post<SyncAnswer>('/v1/ai', body, opts),
      reconnect: async (channelId, opts) =>
        this.post<ReconnectAnswer>('/v1/ai/reconnect', { channel_id: requireId(channelId) }, opts),
    };
    this.requests = {
      get: async (channelId, opts) =>
        send<RequestLog>(this.#config, { method: 'GET', url: `${this.baseUrl}/v1/requests/${encodeURIComponent(requireId(channelId))}` }, opts),
    };
  }

  /**
   * `POST /v1/callback/{channelId}` with the backend's result for an event-driven request
   * (after a `task.ai_generated` webhook); the channel then completes with it. Retried like any
   * call, with the same `Idempotency-Key` on every attempt (pass one derived from the webhook id
   * to make a redelivered webhook's callback idempotent too).
   *
   * @example
   * ```ts
   * await modelRiver.callback(event.channel_id, { data: { ...event.ai_response.data, stock: 3 }, task_id: 'job_1' }, { idempotencyKey: `cb_${event.id}` });
   * ```
   */
  async callback(
    channelId: string,
    body: { data: unknown; task_id?: string; metadata?: Record<string, unknown> },
    options?: CallbackOptions,
  ): Promise<CallbackAnswer> {
    if (!body || typeof body !== 'object' || !('data' in body)) {
      throw new InvalidRequestError('callback body must be { data, task_id?, metadata? }.', { code: 'invalid_argument' });
    }
    return this.postCallback(channelId, body, options);
  }

  /**
   * `POST /v1/callback/{channelId}` with `{error, message}`: the backend failed; the channel
   * ends with an `error` response carrying them.
   *
   * @example
   * ```ts
   * await modelRiver.callbackError(event.channel_id, { error: 'backend_error', message: 'inventory service down' });
   * ```
   */
  async callbackError(channelId: string, body: { error: string; message: string }, options?: CallbackOptions): Promise<CallbackAnswer> {
    if (!body || typeof body.error !== 'string' || typeof body.message !== 'string') {
      throw new InvalidRequestError('callbackError body must be { error: string, message: string }.', { code: 'invalid_argument' });
    }
    return this.postCallback(channelId, body, options);
  }

  /**
   * Streams the request's channel (see `streamChannel`) with a token fallback that asks
   * `POST /v1/ai/reconnect` when a dropped connection cannot resume by itself.
   *
   * @example
   * ```ts
   * const ack = await modelRiver.ai.async({ workflow: 'chat', messages });
   * for await (const event of modelRiver.stream(ack)) {
   *   if (event.type === 'tokens') process.stdout.write(event.payload.delta);
   * }
   * ```
   */
  stream(ack: AsyncAck | ReconnectAnswer, options: StreamChannelOptions = {}): EventStream {
    return streamChannel(ack, {
      getToken: async (channelId) => {
        const fresh = await this.ai.reconnect(channelId);
        return { wsToken: fresh.ws_token, websocketUrl: fresh.websocket_url, websocketChannel: fresh.websocket_channel };
      },
      ...options,
    });
  }

  private postCallback(channelId: string, body: CallbackBody, options: CallbackOptions = {}): Promise<CallbackAnswer> {
    const { url, ...rest } = options;
    const route = `${this.baseUrl}/v1/callback/${encodeURIComponent(requireId(channelId))}`;
    return send<CallbackAnswer>(this.#config, { method: 'POST', url: url && sameOrigin(url, this.baseUrl) ? url : route, body }, rest);
  }

  private async post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    if (!body || typeof body !== 'object') {
      throw new InvalidRequestError(`${path} needs a JSON object body.`, { code: 'invalid_argument' });
    }
    return send<T>(this.#config, { method: 'POST', url: `${this.baseUrl}${path}`, body }, options);
  }
}

function requireId(channelId: string): string {
  if (typeof channelId !== 'string' || !channelId) {
    throw new InvalidRequestError('channelId must be a non-empty string.', { code: 'invalid_argument' });
  }
  return channelId;
}

function normaliseBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ModelRiverError('invalid_argument', `baseUrl is not a URL: ${JSON.stringify(raw)}`);
  }
  // Accept `https://host`, `https://host/` and `https://host/v1`: paths here all start with /v1.
  return url.toString().replace(/\/+$/, '').replace(/\/v1$/, '');
}

function sameOrigin(url: string, base: string): boolean {
  try {
    return new URL(url).origin === new URL(base).origin;
  } catch {
    return false;
  }
}
