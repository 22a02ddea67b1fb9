/**
 * A session is one request across any number of links (connection.ts): its channel,
 * the events it delivers, and how it ends (finished, failed, stopped or replaced).
 *
 * Each join asks for the events after the highest `seq` applied, so the text is
 * neither lost nor duplicated however often the link drops; a gap in `seq` asks for
 * the missing events again with a rejoin.
 *
 * The per-token path (`onEvent`: validate → seq check → apply → persist → stream()
 * consumer → emit → notify) allocates nothing of its own: the client's working copy
 * of the state is changed in place.
 */
import { Channel } from './channel.js';
import type { JoinResult } from './channel.js';
import type { ModelRiverClient } from './client.js';
import { ConnectionReason, clearRetry, openLink, watchLifecycle } from './connection.js';
import { ModelRiverError } from './errors.js';
import type { ErrorCode } from './errors.js';
import type { EventStream } from './event-stream.js';
import { checkServerEvent, rejectionCode } from './events.js';
import { buildRecord, persist, setResumable } from './persistence.js';
import type { Frame, ResponsePayload } from './protocol.js';
import { quote } from './serializer.js';
import type { Socket } from './socket.js';
import type { PersistedRequest } from './storage.js';
import { applyEvent, classifySeq, isTerminalStatus } from './stream-state.js';
import type { StreamEvent, StreamState } from './types.js';
import type { LinkToken } from './token-source.js';

/** One request, across links. */
export interface Session {
  readonly _channelId: string;
  readonly _topic: string;
  /** As given (persisted as given, so a reload resolves defaults the same way). */
  _websocketUrl: string | undefined;
  readonly _websocketChannel: string | undefined;
  readonly _channel: Channel;
  /** The token the next link will present; null once consumed by an opened link. */
  _token: LinkToken | null;
  _socket: Socket | null;
  /** Consecutive failed links (reset after `minUptimeMs` up). */
  _attempts: number;
  _retryTimer: unknown;
  _openedAt: number | null;
  _everOpened: boolean;
  _acquiring: boolean;
  /** Not retrying until `reconnect()` (reconnect: false, or a failure). */
  _stopped: boolean;
  _ended: boolean;
  /** Gap/overlap rejoins since the last applied event. */
  _gapRejoins: number;
  /** The seq of an invalid event that came next in order (see `onEvent`). */
  _badSeq: number;
  /** The `stream()` consumer, and how to stop feeding it: failed with an error, else ended (with the reason given). */
  _sink: EventStream | null;
  _detachSink: (reason?: Error | string) => void;
  _cancelWaiters: Set<() => void>;
  /** Builds the record to persist, when a throttled write happens. */
  _record: () => PersistedRequest;
}

/** Rejoins for missing events allowed without any progress before the server is deemed broken. */
const MAX_GAP_REJOINS_WITHOUT_PROGRESS = 10;

/** Starts a request (ending the current one) and opens its first link. `restored`: the text already held for it. */
export function startSession(
  c: ModelRiverClient,
  channelId: string,
  websocketUrl: string | undefined,
  websocketChannel: string | undefined,
  token: LinkToken | null,
  restored: PersistedRequest | undefined,
): void {
  const previous = c._session;
  if (previous !== null) {
    c._session = null;
    endSession(c, previous, new ModelRiverError('cancelled', 'replaced by a new request'));
  }
  watchLifecycle(c);
  const topic = websocketChannel ?? `ai_response:${channelId}`;
  const cfg = c._cfg;
  const fail = (code: string, message: string, permanent: boolean): void => failSession(c, session, code, message, permanent);
  const session: Session = {
    _channelId: channelId,
    _topic: topic,
    _websocketUrl: websocketUrl,
    _websocketChannel: websocketChannel,
    _channel: new Channel({
      topic,
      timers: c._env.timers,
      random: c._env.random,
      joinTimeoutMs: cfg._joinTimeoutMs,
      rejoin: cfg._rejoin,
      pushBuffer: cfg._pushBuffer,
      handlers: {
        joinPayload: () => ({ last_seq: c._state.lastSeq }),
        onJoined: (result) => onJoined(c, session, result),
        onJoinRefused: (code, reason) => {
          c._emit('channel_error', reason);
          // The topic was guessed from channelId: the fix is the ack's websocket_channel, not channelId.
          const hint = websocketChannel === undefined ? ` (topic ${topic}: pass the ack's websocket_channel as websocketChannel)` : '';
          fail(code, `join refused: ${reason}${hint}`, true);
        },
        onJoinFailed: (attempts, reason) => fail('join_failed', `join failed ${attempts + 1} times (${reason})`, false),
        onChannelError: (reason) => c._emit('channel_error', reason),
        onEvent: (event, payload, frame) => onEvent(c, session, event, payload, frame),
        onProtocolError: (info) => c._emit('protocol_error', info),
        onDrop: (info) => c._emit('dropped', info),
      },
    }),
    _token: token,
    _socket: null,
    _attempts: 0,
    _retryTimer: null,
    _openedAt: null,
    _everOpened: false,
    _acquiring: false,
    _stopped: false,
    _ended: false,
    _gapRejoins: 0,
    _badSeq: 0,
    _sink: null,
    _detachSink: () => undefined,
    _cancelWaiters: new Set(),
    _record: () => buildRecord(c, session),
  };
  c._session = session;
  c._apply({ type: 'start', channelId, at: c._env.now(), ...(restored !== undefined ? { restored } : {}) });
  persist(c, session, true);
  c._notifier.schedule();
  openLink(c, session);
}

/** Resumes a held or persisted request from the text it has. */
export function resumeSession(c: ModelRiverClient, record: PersistedRequest, token: LinkToken | null): void {
  startSession(c, record.channelId, record.websocketUrl, record.websocketChannel, token, record);
}

/** Stops everything a session runs (its link closed saying `why`). Does not touch persistence or the connection state. */
function endSession(c: ModelRiverClient, session: Session, error: ModelRiverError, why = 'client disconnect'): void {
  session._ended = true;
  clearRetry(c, session);
  session._channel.dispose(error);
  const socket = session._socket;
  session._socket = null;
  socket?.close(1000, why);
  session._detachSink(error);
}

/** disconnect()'s work: end the session with `error`, forget the persisted request. */
export function stopSession(c: ModelRiverClient, error: ModelRiverError): void {
  const session = c._session;
  if (session !== null) {
    c._session = null;
    endSession(c, session, error);
  }
  c._store?.clear();
  setResumable(c, null);
  const transition = c._setConnection('disconnected', ConnectionReason.manual);
  if (session !== null) c._emit('disconnected', ConnectionReason.manual, transition);
  c._notifier.flush();
}

function onJoined(c: ModelRiverClient, session: Session, result: JoinResult): void {
  if (session !== c._session || session._ended) return;
  const lastSeq = c._state.lastSeq;
  if (result.resumeToken !== null) session._token = { _value: result.resumeToken, _via: 'resume_token' };
  if (result.serverLastSeq !== null && result.serverLastSeq < lastSeq) {
    // Everything the server sends now will look like a duplicate: say so rather than stall silently.
    c._emit('protocol_error', {
      code: 'invalid_payload',
      message: `server last_seq ${result.serverLastSeq} < applied ${lastSeq}`,
      frame: '',
    });
  }
  const steps = c._state.steps;
  c._apply({ type: 'joined', at: c._env.now() });
  emitSteps(c, steps);
  // Written at once: the previous token is spent, and a reload must find the new one.
  persist(c, session, true);
  c._emit('channel_joined', { topic: session._topic, serverLastSeq: result.serverLastSeq ?? lastSeq, resumed: lastSeq > 0 });
  c._notifier.schedule();
}

/** The per-event hot path: validate, seq check, apply in place, persist, feed the stream, emit, notify. */
function onEvent(c: ModelRiverClient, session: Session, event: string, payload: unknown, frame: Frame): void {
  if (session !== c._session || session._ended) return;
  const state = c._state;
  const checked = checkServerEvent(event, payload);
  if (typeof checked === 'string') {
    // `checked` is the message naming what is wrong; validating again just for the code would be waste.
    c._emit('protocol_error', { code: rejectionCode(event), message: checked, frame: quote(frame) });
    // Remembered when it came next in order: if the event after it arrives, this one
    // is skipped rather than asked for again (the server would replay the same bytes).
    const seq = (payload as { seq?: unknown } | null)?.seq;
    if (seq === state.lastSeq + 1) session._badSeq = seq as number;
    return;
  }
  const p = checked as { seq: number; first_seq?: number; status?: string };
  let order = classifySeq(state.lastSeq, p);
  if (order === 'gap' && session._badSeq === state.lastSeq + 1 && (p.first_seq ?? p.seq) === session._badSeq + 1) {
    c._apply({ type: 'skip', seq: session._badSeq });
    order = 'apply';
  }
  if (order !== 'apply') {
    if (order === 'duplicate') return;
    if (order === 'overlap') {
      c._emit('protocol_error', {
        code: 'invalid_payload',
        message: `merged frame ${p.first_seq}..${p.seq} overlaps applied ${state.lastSeq}`,
        frame: quote(frame),
      });
    }
    // Events are missing (or a merged frame straddles what we have): ask for them again,
    // unless a rejoin in flight will replay everything after lastSeq anyway.
    if (session._channel.state !== 'joined') return;
    if (++session._gapRejoins > MAX_GAP_REJOINS_WITHOUT_PROGRESS) {
      return failSession(c, session, 'protocol_error', `events after seq ${state.lastSeq} never came`, false);
    }
    c._log(`gap after ${state.lastSeq}: rejoin`);
    return session._channel.rejoin();
  }
  const steps = state.steps;
  if (applyEvent(state, event, p, c._env.now, c._pending)) c._version++;
  session._gapRejoins = 0;
  // Only a response changes the steps or ends the request: the per-token path stays short.
  if (event === 'response') return onResponse(c, session, p as unknown as ResponsePayload, steps);
  persist(c, session, false);
  // Handed to a `stream()` consumer synchronously, as it arrives, before any listener can end the request.
  session._sink?.push({ type: event, payload: p } as StreamEvent);
  c._emitter.emit(event, p);
  c._notifier.schedule();
}

/**
 * A response (applied): the `stream()` consumer and the persisted record are dealt with
 * before the app's listeners hear of it, since a listener may disconnect() or connect()
 * another request; whatever it does, a terminal response still finishes this one: nothing
 * more will come, so the link is closed on purpose and the request forgotten.
 */
function onResponse(c: ModelRiverClient, session: Session, p: ResponsePayload, before: StreamState['steps']): void {
  const terminal = isTerminalStatus(p.status);
  if (terminal) {
    // Forgotten before anyone hears of the end, so no listener can resume a finished request;
    c._store?.clear();
    setResumable(c, null);
    // and answered now: a cancel() in flight must not fail because a listener then disconnects.
    for (const waiter of [...session._cancelWaiters]) waiter();
  } else persist(c, session, false);
  session._sink?.push({ type: 'response', payload: p });
  if (terminal) session._detachSink();
  const steps = c._state.steps;
  c._emitter.emit('response', p);
  // A listener that started another request (or reset()) replaced the steps: those are not this response's.
  if (c._state.steps === steps) emitSteps(c, before);
  c._notifier.schedule();
  if (!terminal) return;
  // A listener may already have ended the session (disconnect(), or connect() for another request):
  // its link is gone then, and the connection state is not this request's any more. A session not
  // ended is the client's (every path that ends one lets go of it).
  if (!session._ended) {
    c._session = null;
    // (Its stream() consumer was ended above; one a listener attached since then fails.)
    endSession(c, session, new ModelRiverError('not_connected', 'the request has ended'), 'request finished');
    if (c._state.connectionState !== 'disconnected') {
      c._emit('disconnected', ConnectionReason.completed, c._setConnection('disconnected', ConnectionReason.completed));
    }
    c._notifier.flush();
  }
  // Owed either way: the app hears of every failed request once.
  if (p.status === 'error') {
    c._emit('error', new ModelRiverError(p.error?.code ?? 'request_failed', p.error?.message ?? 'the request failed', { details: { response: p } }));
  }
}

function emitSteps(c: ModelRiverClient, before: StreamState['steps']): void {
  const steps = c._state.steps;
  if (steps !== before) for (const step of steps) if (!before.includes(step)) c._emit('step', step);
}

/** A failure that stops the request. `permanent`: retrying can never help, so the persisted request goes too. */
export function failSession(c: ModelRiverClient, session: Session, code: ErrorCode | (string & {}), message: string, permanent: boolean): void {
  if (session._ended) return;
  const error = new ModelRiverError(code, message);
  session._stopped = true;
  endSession(c, session, error);
  // Kept in memory so reconnect() can try again later unless retrying is pointless.
  if (c._session === session) c._session = null;
  if (permanent) {
    c._store?.clear();
    setResumable(c, null);
  } else c._store?.flush();
  c._apply({ type: 'failed', code, message, at: c._env.now() });
  c._setConnection('error', code);
  c._notifier.flush();
  c._emit('error', error);
}
