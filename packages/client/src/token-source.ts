/**
 * Where the token for the next link comes from. The gateway accepts a token once,
 * so every link presents one never presented before: the `ws_token` from
 * `connect()`, then the latest join's `resume_token`, else the app's `getToken`,
 * else the backend's reconnect endpoint (`apiBaseUrl`). A token is spent the
 * moment an upgrade with it is accepted (reconnect-loop.ts).
 *
 * Private fields start with `_` so the published build can mangle them.
 */
import type { ClientEnv } from './env.js';
import { ModelRiverError } from './errors.js';
import { isRecord, nonEmpty } from './events.js';
import type { ConnectingInfo, ModelRiverClientOptions, TokenGrant } from './types.js';

/** A token for the next link, and where it came from. */
export interface LinkToken {
  _value: string;
  _via: ConnectingInfo['via'];
  /** When `getToken` or the backend minted it (the client's clock). */
  _at?: number;
}

/** A token minted this recently is kept through failures a browser cannot explain (see `tokenRefused`). */
const FRESH_TOKEN_MS = 60_000;

/**
 * A token and the URL it came with; a `ModelRiverError`: the channel is gone (`not_found`,
 * `channel_expired`: what the backend said); `null`: no token to be had; `undefined`: a failure
 * that may pass.
 */
export type TokenOutcome = { _token: LinkToken; _url?: string | undefined } | ModelRiverError | null | undefined;

/** The answer of a backend (or a `getToken` error carrying its code) that says the channel is gone, else null. */
function channelGone(code: unknown, message: unknown, status?: number): ModelRiverError | null {
  const known = code === 'not_found' || code === 'channel_expired' ? code : status === 404 || status === 410 ? 'not_found' : null;
  return known === null ? null : new ModelRiverError(known, `the backend has no token for this channel: ${nonEmpty(message) ? message : known}`);
}

/** What the token sources need from the client: its options, its environment, its debug log. */
export interface TokenHost {
  readonly _o: ModelRiverClientOptions;
  readonly _env: ClientEnv;
  _log(...args: unknown[]): void;
}

/** Whether a fresh token can be had at all once the stored ones are spent. */
export function hasTokenSource(host: TokenHost): boolean {
  return typeof host._o.getToken === 'function' || (nonEmpty(host._o.apiBaseUrl) && host._env.fetch !== null);
}

/**
 * Whether a link that closed before opening had its token refused, so the next link needs another.
 * A token is spent only when an upgrade with it is accepted, so one that was not refused is kept:
 * an outage must not cost a backend call per retry. A 4xx at the upgrade is a refusal; no HTTP
 * answer at all (status 0: `ws` tells it apart) is not. A browser tells nothing: a token minted in the
 * last minute is kept (it cannot have been spent), an older one is given up if another source exists.
 */
export function tokenRefused(host: TokenHost, httpStatus: number | null, token: LinkToken): boolean {
  if (httpStatus !== null) return httpStatus >= 400 && httpStatus < 500;
  return !(host._env.now() - (token._at ?? -Infinity) < FRESH_TOKEN_MS) && hasTokenSource(host);
}

/** A fresh token: `getToken` first, then the backend. A `getToken` that threw makes "none" a failure that may pass. */
export async function acquireToken(host: TokenHost, channelId: string): Promise<TokenOutcome> {
  let transient = false;
  const getToken = host._o.getToken;
  if (typeof getToken === 'function') {
    try {
      const value: TokenGrant | string | null | undefined = await getToken(channelId);
      const grant = typeof value === 'string' ? { wsToken: value } : value;
      if (isRecord(grant) && nonEmpty(grant.wsToken)) {
        return { _token: { _value: grant.wsToken, _via: 'get_token', _at: host._env.now() }, _url: grant.websocketUrl };
      }
    } catch (error) {
      host._log('getToken:', error);
      // A getToken that calls POST /v1/ai/reconnect (e.g. @modelriver/node) throws the answer's code.
      const gone = isRecord(error) ? channelGone(error.code, error.message) : null;
      if (gone !== null) return gone;
      transient = true;
    }
  }
  const outcome = await fetchToken(host, channelId);
  return outcome ?? (transient ? undefined : outcome);
}

/** `POST {apiBaseUrl}/api/v1/ai/reconnect` with `{channel_id}`; `null` without `apiBaseUrl` or `fetch`. */
export async function fetchToken(host: TokenHost, channelId: string): Promise<TokenOutcome> {
  const apiBaseUrl = host._o.apiBaseUrl;
  const fetchFn = host._env.fetch;
  if (!nonEmpty(apiBaseUrl) || fetchFn === null) return null;
  try {
    const response = await fetchFn(`${apiBaseUrl.replace(/\/+$/, '')}/api/v1/ai/reconnect`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel_id: channelId }),
    });
    const status = response.status;
    if (!response.ok) {
      host._log(`reconnect: HTTP ${status}`);
      // 4xx says this channel gets no token (except timeouts and rate limits, which pass); the
      // body (`{error: {code, message}}`) may say why: a gateway that forgot the channel says so.
      if (!(status >= 400 && status < 500 && status !== 408 && status !== 429)) return undefined;
      const body = (await response.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
      return channelGone(body?.error?.code, body?.error?.message, status);
    }
    const body = (await response.json()) as { ws_token?: unknown; websocket_url?: unknown } | null;
    const wsToken = body?.ws_token;
    if (!nonEmpty(wsToken)) {
      host._log('reconnect: no ws_token');
      return null;
    }
    return { _token: { _value: wsToken, _via: 'backend', _at: host._env.now() }, _url: nonEmpty(body?.websocket_url) ? body.websocket_url : undefined };
  } catch (error) {
    host._log('reconnect:', error);
    return undefined;
  }
}
