import EventEmitter from 'eventemitter3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GapRejoin, MAX_GAP_REJOINS_WITHOUT_PROGRESS } from './gap-rejoin.js';
import type { Frame } from './protocol.js';
import { ResumeRecord } from './resume-record.js';
import { ScriptedWebSocket, scriptedSetup } from './scripted-websocket.test-helper.js';
import { Session } from './session.js';
import type { SessionHost } from './session.js';
import { StateStore } from './state-store.js';

const TOPIC = 'ai_response:c1';

/** A SessionHost with a real store and resume record, recording what the session emits. */
function host() {
  const setup = scriptedSetup({ reconnect: { initialDelayMs: 100, maxDelayMs: 100, maxAttempts: 5 } });
  const store = new StateStore('sync', setup._env, new EventEmitter(), setup._env.now, () => undefined);
  const emitted: Array<[string, unknown]> = [];
  const h: SessionHost & { _session: Session | null } = {
    ...setup,
    _store: store,
    _resume: new ResumeRecord(null, store, setup._env.now),
    _session: null,
    _release: (session) => {
      if (h._session === session) h._session = null;
    },
    _emit: (event, a) => void emitted.push([event, a]),
  };
  const session = new Session(h, { channelId: 'c1', websocketUrl: undefined, websocketChannel: undefined }, { _value: 'ws-1', _via: 'ws_token' });
  h._session = session;
  session._start(undefined);
  return { h, session, store, emitted, names: () => emitted.map(([name]) => name) };
}

/** Opens the current scripted link and answers the join; returns the join's ref. */
function openAndJoin(resumeToken = 'resume-1'): string | null {
  const socket = ScriptedWebSocket.last();
  socket.open();
  const join = socket.frames().find((f) => f[3] === 'phx_join') as Frame;
  socket.receive([join[0], join[1], TOPIC, 'phx_reply', { status: 'ok', response: { resume_token: resumeToken } }]);
  return join[0];
}

const event = (joinRef: string | null, name: string, payload: Record<string, unknown>): Frame => [joinRef, null, TOPIC, name, payload];

describe('Session', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('goes connecting → open → waiting → reconnecting → open, and the link state follows', async () => {
    const { session, store } = host();
    expect(session._phase).toBe('connecting');
    expect(store.getState().connectionState).toBe('connecting');
    openAndJoin();
    expect(session._phase).toBe('open');
    expect(store.getState().connectionState).toBe('connected');
    ScriptedWebSocket.last().drop();
    expect(session._phase).toBe('waiting');
    expect(store.getState().connectionState).toBe('reconnecting');
    expect(session._busy()).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(session._phase).toBe('reconnecting');
    // The join's resume token opens the next link.
    expect(ScriptedWebSocket.last().token()).toBe('resume-1');
    openAndJoin('resume-2');
    expect(session._phase).toBe('open');
  });

  it('ends on a terminal response: released by the host, link closed, state disconnected', () => {
    const { h, session, store, names } = host();
    const joinRef = openAndJoin();
    ScriptedWebSocket.last().receive(event(joinRef, 'tokens', { seq: 1, delta: 'Hi' }));
    ScriptedWebSocket.last().receive(event(joinRef, 'response', { seq: 2, status: 'success', channel_id: 'c1', meta: {} }));
    expect(session._phase).toBe('ended');
    expect(h._session).toBeNull();
    expect(session._isOver()).toBe(true);
    expect(store.getState()).toMatchObject({ text: 'Hi', status: 'success', connectionState: 'disconnected' });
    expect(names()).toContain('disconnected');
  });

  it('_fail ends the session, shows the error in the state and emits it once', () => {
    const { h, session, store, names } = host();
    openAndJoin();
    session._fail('join_failed', 'no luck', false);
    session._fail('join_failed', 'again', false);
    expect(session._phase).toBe('ended');
    expect(h._session).toBeNull();
    expect(store.getState()).toMatchObject({ status: 'error', errorCode: 'join_failed', connectionState: 'error' });
    expect(names().filter((n) => n === 'error')).toHaveLength(1);
  });

  it('an event after a gap asks for a rejoin instead of being applied', () => {
    const { store } = host();
    const joinRef = openAndJoin();
    const socket = ScriptedWebSocket.last();
    socket.receive(event(joinRef, 'tokens', { seq: 1, delta: 'a' }));
    const sentBefore = socket.frames().length;
    socket.receive(event(joinRef, 'tokens', { seq: 3, delta: 'c' }));
    expect(store.getState().text).toBe('a');
    expect(socket.frames().slice(sentBefore).map((f) => f[3])).toEqual(['phx_leave', 'phx_join']);
  });

  it('_cancel resolves at once once the session ended', async () => {
    const { session } = host();
    openAndJoin();
    session._fail('join_failed', 'x', false);
    await expect(session._cancel()).resolves.toBeUndefined();
  });
});

describe('GapRejoin', () => {
  it('applies the next seq, drops duplicates, rejoins on gaps and overlaps', () => {
    const gaps = new GapRejoin();
    expect(gaps._verdict(4, { seq: 5 })).toBe('apply');
    expect(gaps._verdict(4, { seq: 4 })).toBe('duplicate');
    expect(gaps._verdict(4, { seq: 7 })).toBe('gap');
    expect(gaps._verdict(4, { seq: 9, first_seq: 3 })).toBe('overlap');
  });

  it('skips an invalid event that came next in order once the one after it arrives', () => {
    const gaps = new GapRejoin();
    gaps._invalid(5, 4);
    expect(gaps._verdict(4, { seq: 6 })).toBe('skip');
    expect(gaps._verdict(4, { seq: 7 })).toBe('gap');
    const other = new GapRejoin();
    other._invalid(9, 4);
    expect(other._verdict(4, { seq: 6 })).toBe('gap');
  });

  it(`allows ${MAX_GAP_REJOINS_WITHOUT_PROGRESS} rejoins without progress, and counts again after progress`, () => {
    const gaps = new GapRejoin();
    for (let i = 0; i < MAX_GAP_REJOINS_WITHOUT_PROGRESS; i++) expect(gaps._again()).toBe(true);
    expect(gaps._again()).toBe(false);
    gaps._progress();
    expect(gaps._again()).toBe(true);
  });
});
