/**
 * The links of a session: opening one with the next token, what a close means for
 * the token it presented, reconnect scheduling with backoff (the attempt count resets
 * only after a link stayed up `minUptimeMs`), and hurrying a waiting retry when the
 * page wakes up. The session's request outlives its links (session.ts).
 */
import { backoffDelay } from './backoff.js';
import type { ModelRiverClient } from './client.js';
import { ModelRiverError, reportListenerError } from './errors.js';
import { persist } from './persistence.js';
import { failSession } from './session.js';
import type { Session } from './session.js';
import { Socket } from './socket.js';
import type { LinkClose } from './socket.js';
import { acquireToken, hasTokenSource, tokenRefused } from './token-source.js';
import type { LinkToken, TokenOutcome } from './token-source.js';

/** The hosted service's socket URL, today's default `baseUrl`. */
export const DEFAULT_BASE_URL = 'wss://api.modelriver.com/socket';

/**
 * Reasons of connection state changes (`ConnectionTransition.reason`, and the
 * `reason` argument of the `disconnected` event). Failures use the error code
 * (`unauthorized`, `connection_failed`, …).
 */
export const ConnectionReason = {
  /** `connect()`, `reconnect()` or `reconnectWithBackend()` started a request. */
  connect: 'connect',
  open: 'open',
  /** The link ended without a close handshake. */
  lost: 'lost',
  /** The server closed the link. */
  closedByServer: 'closed_by_server',
  /** The link closed before it opened (refused token, unreachable host). */
  refused: 'refused',
  heartbeatTimeout: 'heartbeat_timeout',
  /** Getting a token failed for a reason that may pass (network, 5xx); retried. */
  tokenError: 'token_error',
  /** `disconnect()`, `reset()` or `destroy()`. */
  manual: 'manual',
  /** The request ended (a terminal `response`); the link was closed on purpose. */
  completed: 'completed',
} as const;
export type ConnectionReason = (typeof ConnectionReason)[keyof typeof ConnectionReason];

/** Opens a link for `session` now, with `token`, cancelling a retry that waits. */
export function retryNow(c: ModelRiverClient, session: Session, token: LinkToken | null): void {
  clearRetry(c, session);
  session._stopped = false;
  session._token = token;
  openLink(c, session);
}

/** Opens a link unless one is up or the session is over; without a token at hand, gets one first. */
export function openLink(c: ModelRiverClient, session: Session): void {
  if (session !== c._session || session._ended || session._stopped || session._socket !== null) return;
  const token = session._token;
  if (token === null) {
    // Never an unhandled rejection: that would crash a Node process.
    acquireTokenAndOpen(c, session).catch(reportListenerError);
    return;
  }
  c._setConnection(session._everOpened ? 'reconnecting' : 'connecting', ConnectionReason.connect);
  c._emit('connecting', { attempt: session._attempts, via: token._via });
  // A `connecting` listener may have ended or replaced the session.
  if (session !== c._session || session._ended) return;
  const env = c._env;
  const socket: Socket = new Socket({
    url: session._websocketUrl ?? c._o.baseUrl ?? DEFAULT_BASE_URL,
    token: token._value,
    WebSocket: env.resolveWebSocket(),
    timers: env.timers,
    heartbeatIntervalMs: c._cfg._heartbeatMs,
    maxFrameBytes: c._cfg._maxFrameBytes,
    handlers: {
      onOpen: () => {
        if (session._socket !== socket) return;
        // The token is spent the moment the upgrade is accepted.
        session._token = null;
        session._everOpened = true;
        session._openedAt = env.now();
        c._setConnection('connected', ConnectionReason.open);
        c._emit('connected');
        if (session._socket === socket && !session._ended) session._channel.attach(socket);
      },
      onFrame: (frame) => {
        if (session._socket === socket) session._channel.handleFrame(frame);
      },
      onProtocolError: (info) => {
        if (session._socket === socket) c._emit('protocol_error', info);
      },
      onClose: (info) => {
        if (session._socket === socket) onLinkClosed(c, session, info);
      },
    },
  });
  session._socket = socket;
  try {
    socket.connect();
  } catch (error) {
    session._socket = null;
    failSession(c, session, 'invalid_options', (error as Error).message, false);
  }
}

function onLinkClosed(c: ModelRiverClient, session: Session, info: LinkClose): void {
  session._socket = null;
  session._channel.detach();
  const policy = c._cfg._reconnect;
  if (session._openedAt !== null && policy !== false && c._env.now() - session._openedAt >= policy.minUptimeMs) session._attempts = 0;
  session._openedAt = null;
  const presented = session._token;
  if (!info.opened && presented !== null && tokenRefused(c, info.httpStatus, presented)) session._token = null;
  persist(c, session, true);
  if (
    policy === false &&
    presented !== null &&
    session._token === null &&
    !info.opened &&
    hasTokenSource(c) &&
    (presented._via === 'ws_token' || presented._via === 'resume_token')
  ) {
    // Not a reconnection but the same attempt: the stored token was refused, so ask for a fresh one
    // once (a fresh token that is refused too stops here, so this cannot loop).
    acquireTokenAndOpen(c, session).catch(reportListenerError);
    return;
  }
  scheduleRetry(c, session, info.cause);
}

/** After a link or a token failed: wait out the backoff, or stop for `reconnect()` when retries are off or used up. */
function scheduleRetry(c: ModelRiverClient, session: Session, reason: string): void {
  const policy = c._cfg._reconnect;
  if (session._ended || session !== c._session) return;
  if (policy === false) {
    // No retries: wait for reconnect().
    session._stopped = true;
    c._emit('disconnected', reason, c._setConnection('disconnected', reason));
    return;
  }
  const attempts = ++session._attempts;
  c._emit('disconnected', reason, c._setConnection('reconnecting', reason));
  if (attempts > policy.maxAttempts) {
    failSession(c, session, 'connection_failed', `gave up after ${policy.maxAttempts} reconnects (${reason})`, false);
    return;
  }
  if (session._ended || session !== c._session) return;
  const delay = backoffDelay(attempts - 1, policy, c._env.random);
  c._log(`retry in ${delay} ms (${reason})`);
  clearRetry(c, session);
  session._retryTimer = c._env.timers.setTimeout(() => {
    session._retryTimer = null;
    try {
      openLink(c, session);
    } catch (error) {
      reportListenerError(error);
    }
  }, delay);
}

/** Cancels the retry that waits, if any. */
export function clearRetry(c: ModelRiverClient, session: Session): void {
  if (session._retryTimer !== null) c._env.timers.clearTimeout(session._retryTimer);
  session._retryTimer = null;
}

/**
 * Starts watching page lifecycle (once per client): a wake-up skips the backoff a retry is
 * waiting out; a page going away gets the throttled persistence written now, or a reload
 * would show only what the last write had.
 */
export function watchLifecycle(c: ModelRiverClient): void {
  if (c._stopLifecycle !== null) return;
  try {
    c._stopLifecycle = c._env.lifecycle((reason) => {
      if (reason === 'hidden') {
        c._store?.flush();
        return;
      }
      const session = c._active();
      // Only a retry that is waiting out its backoff is hurried; a live or stopped link is left alone.
      if (session === null || session._retryTimer === null) return;
      c._log(`wake: ${reason}`);
      clearRetry(c, session);
      openLink(c, session);
    });
  } catch (error) {
    reportListenerError(error);
    c._stopLifecycle = () => undefined;
  }
}

/** Gets a fresh token, then opens the link with it; a failure that may pass is retried like a lost link. */
async function acquireTokenAndOpen(c: ModelRiverClient, session: Session): Promise<void> {
  if (session._acquiring) return;
  session._acquiring = true;
  c._setConnection(session._everOpened ? 'reconnecting' : 'connecting', ConnectionReason.connect);
  let outcome: TokenOutcome;
  try {
    outcome = await acquireToken(c, session._channelId);
  } finally {
    session._acquiring = false;
  }
  if (session !== c._session || session._ended || session._stopped) return;
  // The backend says the channel is gone (a restarted gateway, an expired request): nothing to retry.
  if (outcome instanceof ModelRiverError) failSession(c, session, outcome.code, outcome.message, true);
  else if (outcome) {
    session._token = outcome._token;
    if (outcome._url !== undefined) session._websocketUrl = outcome._url;
    persist(c, session, true);
    openLink(c, session);
  } else if (outcome === undefined) scheduleRetry(c, session, ConnectionReason.tokenError);
  else failSession(c, session, 'token_unavailable', `no token to reconnect with: ${hasTokenSource(c) ? 'getToken and the backend gave none' : 'pass getToken or apiBaseUrl'}`, false);
}
