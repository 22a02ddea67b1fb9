/**
 * Reading a connect token's claims, for code written against the hosted SDK, whose
 * `decodeToken`/`isTokenExpired` these match. The client itself never needs them: a token
 * is checked by the server that issued it, and the reference gateway's tokens are opaque
 * (random bytes, no claims). Nothing here verifies a signature.
 */
import { ModelRiverError } from './errors.js';
import { isRecord, nonEmpty } from './events.js';

/** The claims of a hosted ModelRiver connect token (a JWT). */
export interface TokenPayload {
  project_id: string;
  channel_id: string;
  /** The channel topic; `ai_response:{project_id}:{channel_id}` when the token does not name one. */
  topic: string;
  /** Expiry in epoch seconds, when the token has one. */
  exp?: number;
}

const invalid = (why: string): ModelRiverError => new ModelRiverError('invalid_token', `Invalid token: ${why}`);

/**
 * The claims of a JWT connect token, read without verifying its signature (only the server can).
 * Throws `ModelRiverError` coded `invalid_token` for anything else: an empty value, an opaque
 * (non-JWT) token such as the reference gateway issues, or a JWT without `project_id` and
 * `channel_id` (the hosted SDK threw a plain `Error` in the same cases).
 *
 * @example
 * ```ts
 * try {
 *   const { channel_id, exp } = decodeToken(ack.ws_token);
 * } catch (err) {
 *   if (ModelRiverError.is(err, 'invalid_token')) console.log('opaque token: only the server can read it');
 * }
 * ```
 */
export function decodeToken(token: string): TokenPayload {
  if (!nonEmpty(token)) throw invalid('expected a non-empty string');
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('not a JWT (an opaque token has no claims to read)');
  let claims: unknown;
  try {
    const base64 = (parts[1] as string).replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
  } catch (cause) {
    throw new ModelRiverError('invalid_token', 'Invalid token: its payload is not base64url JSON', { cause });
  }
  if (!isRecord(claims) || !nonEmpty(claims.project_id) || !nonEmpty(claims.channel_id)) {
    throw invalid('no project_id and channel_id claims');
  }
  const payload: TokenPayload = {
    project_id: claims.project_id,
    channel_id: claims.channel_id,
    topic: nonEmpty(claims.topic) ? claims.topic : `ai_response:${claims.project_id}:${claims.channel_id}`,
  };
  if (typeof claims.exp === 'number' && Number.isFinite(claims.exp)) payload.exp = claims.exp;
  return payload;
}

/**
 * Whether a token is past its `exp` at `now` (epoch ms, default `Date.now()`). Takes the claims
 * from {@link decodeToken} (as the hosted SDK's did) or the token itself. False when nothing says
 * it expired: no `exp` claim, or an opaque token (only the server can tell; a token it refuses
 * makes the client fall back to `getToken`/the backend).
 *
 * @example
 * ```ts
 * if (isTokenExpired(ack.ws_token)) ack = await api.reconnect(ack.channel_id);
 * ```
 */
export function isTokenExpired(token: TokenPayload | string, now: number = Date.now()): boolean {
  let payload: TokenPayload | undefined;
  if (typeof token === 'string') {
    try {
      payload = decodeToken(token);
    } catch {
      return false;
    }
  } else payload = token;
  const exp = payload?.exp;
  return typeof exp === 'number' && now >= exp * 1000;
}
