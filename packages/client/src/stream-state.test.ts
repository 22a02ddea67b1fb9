import { describe, expect, it } from 'vitest';
import type { ResponsePayload, ServerEvent, StatusPayload, TokensPayload, ToolCallPayload } from './protocol.js';
import { classifySeq, initialStreamState, isTerminalStatus, reduceStream, type StreamAction } from './stream-state.js';
import type { StreamState, StreamStatus, WorkflowStep } from './types.js';

const tokens = (seq: number, delta: string, first_seq?: number): StreamAction => {
  const payload: TokensPayload = first_seq === undefined ? { seq, delta } : { seq, delta, first_seq };
  return { type: 'event', at: 1000 + seq, event: { event: 'tokens', payload } };
};
const status = (seq: number, s: StatusPayload['status'], extra: Partial<StatusPayload> = {}): StreamAction => ({
  type: 'event',
  at: 1000 + seq,
  event: { event: 'status', payload: { seq, status: s, ...extra } },
});
const toolCall = (seq: number, index: number, args: string, extra: Partial<ToolCallPayload> = {}): StreamAction => ({
  type: 'event',
  at: 1000 + seq,
  event: { event: 'tool_call', payload: { seq, index, arguments: args, ...extra } },
});
const response = (seq: number, s: ResponsePayload['status'], extra: Partial<ResponsePayload> = {}): StreamAction => ({
  type: 'event',
  at: 1000 + seq,
  event: { event: 'response', payload: { seq, status: s, channel_id: 'c1', meta: {}, ...extra } },
});

function run(...actions: StreamAction[]): StreamState {
  return actions.reduce(reduceStream, initialStreamState());
}

function started(...actions: StreamAction[]): StreamState {
  return run({ type: 'start', channelId: 'c1', at: 1000 }, { type: 'joined', at: 1010 }, ...actions);
}

function step(state: StreamState, id: string): WorkflowStep | undefined {
  return state.steps.find((s) => s.id === id);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

describe('classifySeq', () => {
  it.each([
    [0, { seq: 1 }, 'apply'],
    [4, { seq: 5 }, 'apply'],
    [4, { seq: 8, first_seq: 5 }, 'apply'],
    [4, { seq: 4 }, 'duplicate'],
    [4, { seq: 2 }, 'duplicate'],
    [4, { seq: 4, first_seq: 1 }, 'duplicate'],
    [4, { seq: 8, first_seq: 3 }, 'overlap'],
    [4, { seq: 5, first_seq: 4 }, 'overlap'],
    [4, { seq: 6 }, 'gap'],
    [4, { seq: 9, first_seq: 7 }, 'gap'],
  ] as const)('lastSeq %i, %j → %s', (lastSeq, payload, expected) => {
    expect(classifySeq(lastSeq, payload)).toBe(expected);
  });

  it('never classifies NaN as apply', () => {
    expect(classifySeq(0, { seq: Number.NaN })).not.toBe('apply');
    expect(classifySeq(0, { seq: 3, first_seq: Number.NaN })).not.toBe('apply');
  });
});

describe('isTerminalStatus', () => {
  it.each<[StreamStatus, boolean]>([
    ['idle', false],
    ['pending', false],
    ['streaming', false],
    ['ai_generated', false],
    ['success', true],
    ['completed', true],
    ['error', true],
    ['cancelled', true],
  ])('%s → %s', (s, expected) => {
    expect(isTerminalStatus(s)).toBe(expected);
  });
});

describe('reduceStream: start, connection, pending, reset', () => {
  it('starts idle and disconnected', () => {
    const s = initialStreamState();
    expect(s).toMatchObject({ status: 'idle', connectionState: 'disconnected', text: '', lastSeq: 0, steps: [] });
    expect(initialStreamState()).not.toBe(s);
  });

  it('start → pending with the four steps pending and startedAt', () => {
    const s = run({ type: 'start', channelId: 'c1', at: 500 });
    expect(s.status).toBe('pending');
    expect(s.channelId).toBe('c1');
    expect(s.metrics.startedAt).toBe(500);
    expect(s.steps).toEqual([
      { id: 'queue', name: 'Queueing request', status: 'pending' },
      { id: 'process', name: 'Processing AI request', status: 'pending' },
      { id: 'receive', name: 'Waiting for response', status: 'pending' },
      { id: 'complete', name: 'Response received', status: 'pending' },
    ]);
  });

  it('start keeps the link state and clears the previous request', () => {
    const done = started(tokens(1, 'old'), response(2, 'error', { error: { code: 'x', message: 'y' } }));
    const connected = reduceStream(done, { type: 'connection', state: 'connected' });
    const s = reduceStream(connected, { type: 'start', channelId: 'c2', at: 2000 });
    expect(s).toMatchObject({
      connectionState: 'connected',
      isConnected: true,
      channelId: 'c2',
      status: 'pending',
      text: '',
      error: null,
      errorCode: null,
      response: null,
      lastSeq: 0,
    });
    expect(s.metrics.tokenCount).toBe(0);
  });

  it('start with restored text resumes streaming from lastSeq', () => {
    const s = run({
      type: 'start',
      channelId: 'c1',
      at: 0,
      restored: { text: 'Hello', lastSeq: 7, toolCalls: [] },
    });
    expect(s).toMatchObject({ status: 'streaming', text: 'Hello', lastSeq: 7 });
    const next = reduceStream(s, tokens(8, ' world'));
    expect(next.text).toBe('Hello world');
    // TTFT of a reloaded stream is unknown, not the time since the reload.
    expect(next.metrics.firstTokenAt).toBeNull();
    expect(reduceStream(s, tokens(7, 'dup'))).toBe(s);
  });

  it('start with a restored request that had no text yet stays pending', () => {
    const s = run({ type: 'start', channelId: 'c1', at: 0, restored: { text: '', lastSeq: 2 } });
    expect(s.status).toBe('pending');
    expect(s.lastSeq).toBe(2);
  });

  it.each([
    ['connected', true, false],
    ['connecting', false, true],
    ['reconnecting', false, true],
    ['disconnected', false, false],
    ['error', false, false],
  ] as const)('connection %s → isConnected %s, isConnecting %s', (state, isConnected, isConnecting) => {
    const s = run({ type: 'connection', state });
    expect(s).toMatchObject({ connectionState: state, isConnected, isConnecting });
  });

  it('returns the same object when the connection state is unchanged', () => {
    const s = run({ type: 'connection', state: 'connected' });
    expect(reduceStream(s, { type: 'connection', state: 'connected' })).toBe(s);
  });

  it('pending sets hasPendingRequest, same object when unchanged', () => {
    const s = run({ type: 'pending', hasPendingRequest: true });
    expect(s.hasPendingRequest).toBe(true);
    expect(reduceStream(s, { type: 'pending', hasPendingRequest: true })).toBe(s);
  });

  it('reset returns the initial state, and the same object when already initial', () => {
    const s = started(tokens(1, 'x'));
    expect(reduceStream(s, { type: 'reset' })).toEqual(initialStreamState());
    const initial = initialStreamState();
    expect(reduceStream(initial, { type: 'reset' })).toBe(initial);
  });

  it('ignores an unknown action', () => {
    const s = initialStreamState();
    expect(reduceStream(s, { type: 'nope' } as unknown as StreamAction)).toBe(s);
  });
});

describe('reduceStream: tokens', () => {
  it('appends deltas, goes streaming, tracks lastSeq', () => {
    const s = started(tokens(1, 'Hel'), tokens(2, 'lo'));
    expect(s).toMatchObject({ status: 'streaming', text: 'Hello', lastSeq: 2 });
  });

  it('counts every seq a merged frame covers', () => {
    const s = started(tokens(3, 'abc', 1), tokens(4, 'd'));
    expect(s.metrics.tokenCount).toBe(4);
    expect(s.text).toBe('abcd');
  });

  it('sets firstTokenAt and ttftMs once', () => {
    const s = started(tokens(1, 'a'), tokens(2, 'b'));
    expect(s.metrics.firstTokenAt).toBe(1001);
    expect(s.metrics.ttftMs).toBe(1);
  });

  it('ignores an event that classifySeq would not apply (same object)', () => {
    const s = started(tokens(1, 'a'), tokens(2, 'b'));
    expect(reduceStream(s, tokens(2, 'b'))).toBe(s);
    expect(reduceStream(s, tokens(5, 'x'))).toBe(s);
    expect(reduceStream(s, tokens(4, 'xyz', 2))).toBe(s);
  });

  it('keeps the steps and tool calls arrays when they do not change', () => {
    const a = started(tokens(1, 'a'));
    const b = reduceStream(a, tokens(2, 'b'));
    expect(b.steps).toBe(a.steps);
    expect(b.toolCalls).toBe(a.toolCalls);
    expect(b.response).toBe(a.response);
  });

  it('every kind of change keeps every state field (the hot path copies fields one by one)', () => {
    const keys = Object.keys(initialStreamState()).sort();
    const metricKeys = Object.keys(initialStreamState().metrics).sort();
    const states = [
      started(tokens(1, 'a')),
      started(status(1, 'queued')),
      started(toolCall(1, 0, '{}')),
      started(response(1, 'success')),
      started({ type: 'failed', code: 'x', message: 'y', at: 2 }),
      run({ type: 'connection', state: 'connected' }),
      run({ type: 'pending', hasPendingRequest: true }),
    ];
    for (const s of states) {
      expect(Object.keys(s).sort()).toEqual(keys);
      expect(Object.keys(s.metrics).sort()).toEqual(metricKeys);
    }
  });

  it('does not mutate its input', () => {
    const frozen = deepFreeze(started(tokens(1, 'a'), toolCall(2, 0, '{"x":1}')));
    expect(() =>
      [tokens(3, 'b'), toolCall(4, 1, '{}'), status(5, 'processing'), response(6, 'success', { content: 'ab' })].reduce(
        reduceStream,
        frozen,
      ),
    ).not.toThrow();
    expect(frozen.text).toBe('a');
  });
});

describe('reduceStream: status', () => {
  it('keeps the latest status payload without changing the stream status', () => {
    const payload: StatusPayload = { seq: 1, status: 'failover', provider: 'b', reason: 'timeout' };
    const s = started({ type: 'event', at: 1, event: { event: 'status', payload } });
    expect(s.lastStatus).toBe(payload);
    expect(s.status).toBe('pending');
    expect(s.lastSeq).toBe(1);
  });
});

describe('reduceStream: tool calls', () => {
  it('assembles a call by index, with id and name from its first delta', () => {
    const s = started(
      toolCall(1, 0, '{"city":', { id: 'call_1', name: 'weather' }),
      toolCall(2, 0, '"Oslo"}', { id: 'ignored', name: 'ignored' }),
    );
    expect(s.status).toBe('streaming');
    expect(s.toolCalls).toEqual([
      { index: 0, id: 'call_1', name: 'weather', argumentsText: '{"city":"Oslo"}', arguments: { city: 'Oslo' }, complete: false },
    ]);
  });

  it('gives partial arguments while they stream, whole once the text parses', () => {
    const s = started(toolCall(1, 0, '{"a":{"b":1}, "c": "Os'));
    expect(s.toolCalls[0]?.arguments).toEqual({ a: { b: 1 }, c: 'Os' });
    const t = reduceStream(s, toolCall(2, 0, 'lo"} \n'));
    expect(t.toolCalls[0]?.arguments).toEqual({ a: { b: 1 }, c: 'Oslo' });
    expect(s.toolCalls[0]?.arguments).toEqual({ a: { b: 1 }, c: 'Os' });
    // Reducing the older state again gives the same result (its parser is rebuilt from its text).
    expect(reduceStream(s, toolCall(2, 0, 'lo"}')).toolCalls[0]?.arguments).toEqual({ a: { b: 1 }, c: 'Oslo' });
  });

  it('fills id and name from a later delta when the first had none', () => {
    const s = started(toolCall(1, 0, '{'), toolCall(2, 0, '}', { id: 'late', name: 'fn' }));
    expect(s.toolCalls[0]).toMatchObject({ id: 'late', name: 'fn' });
  });

  it('completes a parsed call when another index starts', () => {
    const s = started(toolCall(1, 0, '{"a":1}', { id: 'a' }), toolCall(2, 1, '{"b":', { id: 'b' }));
    expect(s.toolCalls.map((c) => c.complete)).toEqual([true, false]);
  });

  it('completes a parsed call when another kind of event arrives', () => {
    const s = started(toolCall(1, 0, '{"a":1}'));
    expect(s.toolCalls[0]?.complete).toBe(false);
    expect(reduceStream(s, tokens(2, 'x')).toolCalls[0]?.complete).toBe(true);
    expect(reduceStream(s, status(2, 'processing')).toolCalls[0]?.complete).toBe(true);
  });

  it('does not complete a call that does not parse yet', () => {
    const s = started(toolCall(1, 0, '{"a":'), tokens(2, 'x'));
    expect(s.toolCalls[0]?.complete).toBe(false);
  });

  it('completes parsed calls on the response', () => {
    const s = started(toolCall(1, 0, '[1,2]'), response(2, 'success'));
    expect(s.toolCalls[0]).toMatchObject({ arguments: [1, 2], complete: true });
  });

  it('keeps calls ordered by index', () => {
    const s = started(toolCall(1, 2, '{}'), toolCall(2, 0, '{}'), toolCall(3, 1, '{}'));
    expect(s.toolCalls.map((c) => c.index)).toEqual([0, 1, 2]);
  });
});

describe('reduceStream: responses', () => {
  it('success: content becomes the text, data, usage, timing, steps', () => {
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const s = started(
      tokens(1, 'Hel'),
      response(2, 'success', { content: 'Hello', data: { ok: true }, meta: { duration_ms: 40, usage } }),
    );
    expect(s).toMatchObject({ status: 'success', text: 'Hello', data: { ok: true }, error: null, errorCode: null });
    expect(s.response?.seq).toBe(2);
    expect(s.metrics).toMatchObject({ endedAt: 1002, durationMs: 2, usage });
    expect(s.steps.map((x) => [x.id, x.status])).toEqual([
      ['queue', 'success'],
      ['process', 'success'],
      ['receive', 'success'],
      ['complete', 'success'],
    ]);
    expect(step(s, 'process')?.duration).toBe(40);
  });

  it('without content keeps the streamed text', () => {
    const s = started(tokens(1, 'Hello'), response(2, 'success'));
    expect(s.text).toBe('Hello');
  });

  it('ignores malformed usage', () => {
    const s = started(response(1, 'success', { meta: { usage: { total_tokens: 'x' } as never } }));
    expect(s.metrics.usage).toBeNull();
  });

  it('data falls back to ai_response.data, else stays', () => {
    expect(started(response(1, 'success', { ai_response: { data: { x: 1 } } })).data).toEqual({ x: 1 });
    const kept = started(response(1, 'ai_generated', { data: 7 }), response(2, 'completed'));
    expect(kept.data).toBe(7);
  });

  it('ai_generated then completed: backend step and statuses', () => {
    const ai = started(tokens(1, 'x'), response(2, 'ai_generated', { ai_response: { data: { draft: 1 } } }));
    expect(ai.status).toBe('ai_generated');
    expect(isTerminalStatus(ai.status)).toBe(false);
    expect(ai.metrics.endedAt).toBeNull();
    expect(ai.data).toEqual({ draft: 1 });
    expect(step(ai, 'process')?.status).toBe('success');
    expect(step(ai, 'backend')).toEqual({ id: 'backend', name: 'Waiting for backend callback...', status: 'pending' });
    expect(step(ai, 'complete')?.status).toBe('pending');

    const done = reduceStream(ai, response(3, 'completed', { data: { final: 1 }, task_id: 't' }));
    expect(done.status).toBe('completed');
    expect(done.data).toEqual({ final: 1 });
    expect(step(done, 'backend')).toEqual({ id: 'backend', name: 'Backend processed', status: 'success' });
    expect(done.steps.every((x) => x.status === 'success')).toBe(true);
    expect(done.metrics.endedAt).toBe(1003);
  });

  it('completed without a prior ai_generated adds the backend step', () => {
    const s = started(response(1, 'completed'));
    expect(step(s, 'backend')).toEqual({ id: 'backend', name: 'Backend processed', status: 'success' });
  });

  it('error: message, code, pending steps fail; done steps stay done', () => {
    const s = started(
      response(1, 'ai_generated'),
      response(2, 'error', { error: { code: 'callback_timeout', message: 'no callback' } }),
    );
    expect(s).toMatchObject({ status: 'error', error: 'no callback', errorCode: 'callback_timeout' });
    expect(step(s, 'queue')?.status).toBe('success');
    expect(step(s, 'process')?.status).toBe('success');
    for (const id of ['receive', 'complete', 'backend']) {
      expect(step(s, id)).toMatchObject({ status: 'error', errorMessage: 'no callback' });
    }
  });

  it('error without a body gets request_failed', () => {
    const s = started(response(1, 'error'));
    expect(s).toMatchObject({ error: 'Request failed', errorCode: 'request_failed' });
  });

  it('cancelled (a user\'s Stop) is not an error: error and errorCode stay null', () => {
    // Issue 8, item 7: it used to set errorCode 'cancelled' and error 'Request cancelled'.
    const s = started(tokens(1, 'par'), response(2, 'cancelled'));
    expect(s).toMatchObject({ status: 'cancelled', errorCode: null, error: null, text: 'par', isCompleted: false });
    expect(s.metrics.durationMs).toBe(2);
  });

  it.each(['success', 'completed'] as const)('isCompleted is true after %s only, and false again on the next start', (status) => {
    const s = started(tokens(1, 'x'), response(2, status));
    expect(s.isCompleted).toBe(true);
    expect(started(response(1, 'ai_generated')).isCompleted).toBe(false);
    expect(started(response(1, 'error')).isCompleted).toBe(false);
    expect(reduceStream(s, { type: 'start', channelId: 'c2', at: 0 }).isCompleted).toBe(false);
    expect(reduceStream(s, { type: 'reset' }).isCompleted).toBe(false);
  });

  it('a terminal status stays terminal: later events are ignored', () => {
    const s = started(response(1, 'success', { content: 'done' }));
    expect(reduceStream(s, tokens(2, 'more'))).toBe(s);
    expect(reduceStream(s, response(2, 'error'))).toBe(s);
    expect(reduceStream(s, { type: 'failed', code: 'connection_failed', message: 'x', at: 9 })).toBe(s);
    expect(reduceStream(s, { type: 'joined', at: 9 })).toBe(s);
  });
});

describe('reduceStream: joined and failed', () => {
  it('joined marks the queue step success, timed from start; a rejoin changes nothing', () => {
    const s = run({ type: 'start', channelId: 'c1', at: 1000 }, { type: 'joined', at: 1040 });
    expect(step(s, 'queue')).toEqual({ id: 'queue', name: 'Queueing request', status: 'success', duration: 40 });
    expect(reduceStream(s, { type: 'joined', at: 5000 })).toBe(s);
  });

  it('joined before any start changes nothing', () => {
    const s = initialStreamState();
    expect(reduceStream(s, { type: 'joined', at: 1 })).toBe(s);
  });

  it('failed → error with its code; pending steps fail', () => {
    const s = run(
      { type: 'start', channelId: 'c1', at: 1000 },
      { type: 'failed', code: 'unauthorized', message: 'Join refused: unauthorized', at: 1100 },
    );
    expect(s).toMatchObject({ status: 'error', error: 'Join refused: unauthorized', errorCode: 'unauthorized' });
    expect(s.steps.every((x) => x.status === 'error' && x.errorMessage === 'Join refused: unauthorized')).toBe(true);
    expect(s.metrics).toMatchObject({ endedAt: 1100, durationMs: 100 });
  });
});

describe('reduceStream: step identity', () => {
  it('replaces only the steps that changed, with new objects', () => {
    const before = run({ type: 'start', channelId: 'c1', at: 0 });
    const after = reduceStream(before, { type: 'joined', at: 10 });
    expect(after.steps).not.toBe(before.steps);
    const changed = after.steps.filter((s, i) => s !== before.steps[i]).map((s) => s.id);
    expect(changed).toEqual(['queue']);
  });

  it('on success, exactly process, receive and complete change', () => {
    const before = started(tokens(1, 'a'));
    const after = reduceStream(before, response(2, 'success'));
    const changed = after.steps.filter((s, i) => s !== before.steps[i]).map((s) => s.id);
    expect(changed).toEqual(['process', 'receive', 'complete']);
  });

  it('keeps the steps array when nothing in it changed', () => {
    const before = started(tokens(1, 'a'));
    const after = reduceStream(before, status(2, 'processing'));
    expect(after.steps).toBe(before.steps);
  });
});

describe('reduceStream: dispatch by event', () => {
  it('treats events without a start as a stream of their own', () => {
    const event: ServerEvent = { event: 'tokens', payload: { seq: 1, delta: 'a' } };
    const s = reduceStream(initialStreamState(), { type: 'event', event, at: 5 });
    expect(s).toMatchObject({ status: 'streaming', text: 'a', steps: [] });
    expect(s.metrics.ttftMs).toBeNull();
  });
});

describe('reduceStream: skip', () => {
  it('moves lastSeq past the next event without applying anything', () => {
    const s = started(tokens(1, 'a'));
    const skipped = reduceStream(s, { type: 'skip', seq: 2 });
    expect(skipped).toMatchObject({ lastSeq: 2, text: 'a', status: 'streaming' });
    expect(skipped.metrics.tokenCount).toBe(1);
    expect(skipped.metrics).toBe(s.metrics);
    expect(reduceStream(skipped, tokens(3, 'b')).text).toBe('ab');
  });

  it('changes nothing for any seq but lastSeq + 1, or after a terminal status', () => {
    const s = started(tokens(1, 'a'));
    for (const seq of [1, 3, 0, Number.NaN]) expect(reduceStream(s, { type: 'skip', seq })).toBe(s);
    const done = reduceStream(s, response(2, 'success'));
    expect(reduceStream(done, { type: 'skip', seq: 3 })).toBe(done);
  });
});

