import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Channel } from './channel.js';
import type { ChannelHandlers, ChannelTransport, JoinResult } from './channel.js';
import { ModelRiverError } from './errors.js';
import type { Frame } from './protocol.js';
import type { BackoffOptions, DropInfo, ProtocolErrorInfo, Timers } from './types.js';

const TOPIC = 'ai_response:p:c';
const timers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

class FakeTransport implements ChannelTransport {
  _isOpen = true;
  sent: Frame[] = [];
  #ref = 0;
  _makeRef(): string {
    this.#ref += 1;
    return String(this.#ref);
  }
  send(frame: Frame): boolean {
    if (!this._isOpen) return false;
    this.sent.push(frame);
    return true;
  }
  last(event: string): Frame {
    const frame = [...this.sent].reverse().find((f) => f[3] === event);
    if (!frame) throw new Error(`no ${event} sent`);
    return frame;
  }
  count(event: string): number {
    return this.sent.filter((f) => f[3] === event).length;
  }
}

function setup(options: { rejoin?: Partial<BackoffOptions>; lastSeq?: () => number } = {}) {
  const log = {
    joined: [] as JoinResult[],
    refused: [] as string[],
    failed: [] as Array<[number, string]>,
    channelErrors: [] as string[],
    events: [] as Array<[string, unknown]>,
    drops: [] as DropInfo[],
    protocolErrors: [] as ProtocolErrorInfo[],
  };
  const handlers: ChannelHandlers = {
    _joinPayload: () => ({ last_seq: options.lastSeq?.() ?? 0 }),
    _onJoined: (r) => log.joined.push(r),
    _onJoinRefused: (code, reason) => log.refused.push(`${code}/${reason}`),
    _onJoinFailed: (n, reason) => log.failed.push([n, reason]),
    _onChannelError: (r) => log.channelErrors.push(r),
    _onEvent: (e, p) => log.events.push([e, p]),
    _onProtocolError: (i) => log.protocolErrors.push(i),
    _onDrop: (i) => log.drops.push(i),
  };
  const channel = new Channel({
    topic: TOPIC,
    timers,
    _random: () => 0.5,
    _joinTimeoutMs: 1_000,
    _rejoin: { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2, maxAttempts: 3, minUptimeMs: 0, ...options.rejoin },
    _pushBuffer: { maxSize: 10, timeoutMs: 5_000 },
    _handlers: handlers,
  });
  const transport = new FakeTransport();
  const reply = (ref: string | null, status: 'ok' | 'error', response: unknown, joinRef = channel.joinRef) =>
    channel._handleFrame([joinRef, ref, TOPIC, 'phx_reply', { status, response }]);
  const acceptJoin = (response: unknown = { last_seq: 0, resume_token: 'r1' }) => {
    const join = transport.last('phx_join');
    reply(join[1], 'ok', response, join[0]);
  };
  return { channel, transport, log, reply, acceptJoin };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Channel join', () => {
  it('joins on attach with [join_ref, ref, topic, phx_join, {last_seq}] read at send time', () => {
    let lastSeq = 0;
    const { channel, transport } = setup({ lastSeq: () => lastSeq });
    lastSeq = 42;
    channel._attach(transport);
    const join = transport.last('phx_join');
    expect(join).toEqual([channel.joinRef, channel.joinRef, TOPIC, 'phx_join', { last_seq: 42 }]);
    expect(channel.state).toBe('joining');
  });

  it('reports the resume token and server last_seq of an ok reply', () => {
    const { channel, transport, log, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin({ last_seq: 7, resume_token: 'res-1' });
    expect(log.joined).toEqual([{ serverLastSeq: 7, resumeToken: 'res-1' }]);
    expect(channel.state).toBe('joined');
  });

  it('accepts an ok reply without fields (as the hosted service may send)', () => {
    const { channel, transport, log, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin({});
    expect(log.joined).toEqual([{ serverLastSeq: null, resumeToken: null }]);
  });

  it.each([
    ['unauthorized', 'unauthorized/unauthorized'],
    ['not_found', 'not_found/not_found'],
    ['invalid_channel_format', 'invalid_channel_format/invalid_channel_format'],
    ['unauthorized_project_access', 'unauthorized/unauthorized_project_access'],
  ])('stops for good on a %s refusal', (reason, expected) => {
    const { channel, transport, log } = setup();
    channel._attach(transport);
    const join = transport.last('phx_join');
    channel._handleFrame([join[0], join[1], TOPIC, 'phx_reply', { status: 'error', response: { reason } }]);
    expect(log.refused).toEqual([expected]);
    vi.advanceTimersByTime(60_000);
    expect(transport.count('phx_join')).toBe(1);
  });

  it('rejoins with backoff after an unknown refusal, and gives up after maxAttempts', () => {
    const { channel, transport, log } = setup({ rejoin: { maxAttempts: 2 } });
    channel._attach(transport);
    const refuse = () => {
      const join = transport.last('phx_join');
      channel._handleFrame([join[0], join[1], TOPIC, 'phx_reply', { status: 'error', response: { reason: 'overloaded' } }]);
    };
    refuse();
    expect(log.channelErrors).toEqual(['overloaded']);
    vi.advanceTimersByTime(49); // attempt 0: 0.5 * 100
    expect(transport.count('phx_join')).toBe(1);
    vi.advanceTimersByTime(1);
    expect(transport.count('phx_join')).toBe(2);
    refuse();
    vi.advanceTimersByTime(100); // attempt 1: 0.5 * 200
    expect(transport.count('phx_join')).toBe(3);
    refuse();
    expect(log.failed).toEqual([[2, 'overloaded']]);
    vi.advanceTimersByTime(60_000);
    expect(transport.count('phx_join')).toBe(3);
  });

  it('on a join timeout leaves the stale join and joins again; the late reply does not count', () => {
    const { channel, transport, log, reply } = setup();
    channel._attach(transport);
    const first = transport.last('phx_join');
    vi.advanceTimersByTime(1_000);
    expect(log.channelErrors).toEqual(['timeout']);
    expect(transport.last('phx_leave')[0]).toBe(first[0]);
    vi.advanceTimersByTime(50);
    const second = transport.last('phx_join');
    expect(second[0]).not.toBe(first[0]);
    // The first join's reply arrives late: ignored (stale join_ref).
    reply(first[1], 'ok', { last_seq: 0, resume_token: 'stale' }, first[0]);
    expect(log.joined).toEqual([]);
    reply(second[1], 'ok', { last_seq: 0, resume_token: 'fresh' }, second[0]);
    expect(log.joined).toEqual([{ serverLastSeq: 0, resumeToken: 'fresh' }]);
  });

  it.each<[string, unknown]>([
    ['without status', { response: { last_seq: 0, resume_token: 'r1' } }],
    ['with a non-string status', { status: 1, response: {} }],
    ['that is not an object', 'ok'],
    ['that is null', null],
  ])('a join reply %s is reported as invalid_payload and the join is retried with backoff', (_name, payload) => {
    const { channel, transport, log } = setup();
    channel._attach(transport);
    const join = transport.last('phx_join');
    channel._handleFrame([join[0], join[1], TOPIC, 'phx_reply', payload]);
    expect(log.protocolErrors).toEqual([expect.objectContaining({ code: 'invalid_payload' })]);
    expect(log.channelErrors).toEqual(['invalid_reply']);
    expect(log.joined).toEqual([]);
    expect(channel.state).toBe('errored');
    vi.advanceTimersByTime(49); // attempt 0: 0.5 * 100
    expect(transport.count('phx_join')).toBe(1);
    vi.advanceTimersByTime(1);
    expect(transport.count('phx_join')).toBe(2);
    const again = transport.last('phx_join');
    expect(again[0]).not.toBe(join[0]);
    channel._handleFrame([again[0], again[1], TOPIC, 'phx_reply', { status: 'ok', response: { last_seq: 0, resume_token: 'r2' } }]);
    expect(log.joined).toEqual([{ serverLastSeq: 0, resumeToken: 'r2' }]);
  });

  it('a successful join resets the rejoin count', () => {
    const { channel, transport, log, acceptJoin } = setup({ rejoin: { maxAttempts: 1 } });
    channel._attach(transport);
    vi.advanceTimersByTime(1_000); // timeout 1
    vi.advanceTimersByTime(50);
    acceptJoin();
    channel._handleFrame([channel.joinRef, null, TOPIC, 'phx_error', {}]);
    expect(log.failed).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(channel.state).toBe('joining');
  });
});

describe('Channel events', () => {
  it('dispatches events of its topic and join; ignores other topics and stale join_refs; accepts null join_ref', () => {
    const { channel, transport, log, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin();
    const ref = channel.joinRef;
    channel._handleFrame([ref, null, TOPIC, 'tokens', { seq: 1, delta: 'a' }]);
    channel._handleFrame([ref, null, 'ai_response:p:other', 'tokens', { seq: 2, delta: 'b' }]);
    channel._handleFrame(['999', null, TOPIC, 'tokens', { seq: 2, delta: 'c' }]);
    channel._handleFrame([null, null, TOPIC, 'tokens', { seq: 2, delta: 'd' }]);
    expect(log.events).toEqual([
      ['tokens', { seq: 1, delta: 'a' }],
      ['tokens', { seq: 2, delta: 'd' }],
    ]);
  });

  it('drops events when not joined (after detach)', () => {
    const { channel, transport, log, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin();
    channel._detach();
    channel._handleFrame([null, null, TOPIC, 'tokens', { seq: 1, delta: 'a' }]);
    expect(log.events).toEqual([]);
  });

  it('rejoin() leaves and joins at once on the same link with the current last_seq', () => {
    let lastSeq = 3;
    const { channel, transport, acceptJoin } = setup({ lastSeq: () => lastSeq });
    channel._attach(transport);
    acceptJoin();
    const firstRef = channel.joinRef;
    lastSeq = 9;
    channel.rejoin();
    expect(transport.last('phx_leave')[0]).toBe(firstRef);
    expect(transport.last('phx_join')).toEqual([channel.joinRef, channel.joinRef, TOPIC, 'phx_join', { last_seq: 9 }]);
    expect(channel.joinRef).not.toBe(firstRef);
  });

  it('rejoins with backoff after phx_error from the server', () => {
    const { channel, transport, log, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin();
    channel._handleFrame([channel.joinRef, null, TOPIC, 'phx_error', {}]);
    expect(log.channelErrors).toEqual(['phx_error']);
    vi.advanceTimersByTime(50);
    expect(transport.count('phx_join')).toBe(2);
  });
});

describe('Channel pushes', () => {
  it('queues pushes until joined, then sends them with the join_ref and settles on reply', async () => {
    const { channel, transport, acceptJoin } = setup();
    channel._attach(transport);
    const push = channel.push('cancel', {});
    expect(transport.count('cancel')).toBe(0);
    acceptJoin();
    const sent = transport.last('cancel');
    expect(sent[0]).toBe(channel.joinRef);
    channel._handleFrame([channel.joinRef, sent[1], TOPIC, 'phx_reply', { status: 'ok', response: {} }]);
    await expect(push.promise()).resolves.toEqual({});
  });

  it('resends an unanswered push after the link comes back', () => {
    const { channel, transport, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin();
    channel.push('cancel', {});
    expect(transport.count('cancel')).toBe(1);
    channel._detach();
    const next = new FakeTransport();
    channel._attach(next);
    expect(next.count('cancel')).toBe(0);
    const join = next.last('phx_join');
    channel._handleFrame([join[0], join[1], TOPIC, 'phx_reply', { status: 'ok', response: {} }]);
    expect(next.count('cancel')).toBe(1);
  });

  it('dispose() leaves, fails pending pushes and ignores later frames', async () => {
    const { channel, transport, log, acceptJoin } = setup();
    channel._attach(transport);
    acceptJoin();
    const push = channel.push('cancel', {});
    const pending = push.promise();
    channel._dispose(new ModelRiverError('not_connected', 'bye'));
    await expect(pending).rejects.toMatchObject({ code: 'not_connected' });
    expect(transport.count('phx_leave')).toBe(1);
    expect(log.drops).toEqual([{ kind: 'push', event: 'cancel', reason: 'disconnected' }]);
    channel._handleFrame([null, null, TOPIC, 'tokens', { seq: 1, delta: 'a' }]);
    expect(log.events).toEqual([]);
    await expect(channel.push('cancel', {}).promise()).rejects.toMatchObject({ code: 'not_connected' });
  });

  it('a push after dispose() fails at once: no timer, nothing queued, no drop reported', () => {
    const { channel, log } = setup();
    channel._dispose(new ModelRiverError('not_connected', 'bye'));
    const timersBefore = vi.getTimerCount();
    const push = channel.push('cancel', {});
    expect(push._settled).toBe(true);
    expect(vi.getTimerCount()).toBe(timersBefore);
    expect((channel as unknown as { _pushes: { queued: number } })._pushes.queued).toBe(0);
    expect(log.drops).toEqual([]);
  });
});
