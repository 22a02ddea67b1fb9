import { describe, expect, it } from 'vitest';
import { parseServerEvent } from './events.js';

function expectInvalid(event: string, payload: unknown, message: string): void {
  const result = parseServerEvent(event, payload);
  expect(result).toEqual({ ok: false, code: 'invalid_payload', message });
}

describe('parseServerEvent: envelope', () => {
  it('rejects an unknown event name with unknown_event', () => {
    const result = parseServerEvent('presence_diff', { seq: 1 });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('unknown_event');
      expect(result.message).toContain('presence_diff');
    }
  });

  it.each([null, undefined, 42, 'text', [1, 2], true])('rejects a non-object payload %j', (payload) => {
    expectInvalid('tokens', payload, 'tokens payload must be an object');
  });

  it.each([0, -1, 1.5, '3', null, undefined, Number.NaN, Infinity, 2 ** 53])('rejects seq %j', (seq) => {
    expectInvalid('status', { seq, status: 'queued' }, 'status.seq must be a positive integer');
  });

  it('never throws on a payload whose getter throws', () => {
    const payload = {
      get seq(): number {
        throw new Error('boom');
      },
    };
    const result = parseServerEvent('tokens', payload);
    expect(result).toMatchObject({ ok: false, code: 'invalid_payload' });
  });

  it('never throws on a hostile proxy', () => {
    const payload = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    );
    expect(parseServerEvent('response', payload)).toMatchObject({ ok: false, code: 'invalid_payload' });
  });
});

describe('parseServerEvent: tokens', () => {
  it('accepts a delta and returns the same payload object (no copy on the hot path)', () => {
    const payload = { seq: 3, delta: 'Hel' };
    const result = parseServerEvent('tokens', payload);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.event).toBe('tokens');
      expect(result.value.payload).toBe(payload);
    }
  });

  it('accepts an empty delta and a merged frame', () => {
    expect(parseServerEvent('tokens', { seq: 1, delta: '' }).ok).toBe(true);
    expect(parseServerEvent('tokens', { seq: 9, first_seq: 4, delta: 'abc' }).ok).toBe(true);
    expect(parseServerEvent('tokens', { seq: 9, first_seq: 9, delta: 'abc' }).ok).toBe(true);
  });

  it('names the field of a bad delta', () => {
    expectInvalid('tokens', { seq: 1, delta: 5 }, 'tokens.delta must be a string');
    expectInvalid('tokens', { seq: 1 }, 'tokens.delta must be a string');
  });

  it.each([0, -2, 1.5, '2', 10])('rejects first_seq %j (with seq 9)', (first_seq) => {
    expectInvalid(
      'tokens',
      { seq: 9, first_seq, delta: 'x' },
      'tokens.first_seq must be a positive integer not greater than seq',
    );
  });

  it('reads a null first_seq as absent and removes it', () => {
    const result = parseServerEvent('tokens', { seq: 2, first_seq: null, delta: 'x' });
    expect(result).toEqual({ ok: true, value: { event: 'tokens', payload: { seq: 2, delta: 'x' } } });
  });

  it('keeps unknown extra fields', () => {
    const result = parseServerEvent('tokens', { seq: 1, delta: 'a', logprob: -0.1 });
    expect(result.ok && result.value.payload).toEqual({ seq: 1, delta: 'a', logprob: -0.1 });
  });
});

describe('parseServerEvent: status', () => {
  it.each(['queued', 'processing', 'failover', 'ai_generated', 'awaiting_callback'])('accepts %s', (status) => {
    expect(parseServerEvent('status', { seq: 1, status }).ok).toBe(true);
  });

  it('rejects an unknown status', () => {
    expectInvalid(
      'status',
      { seq: 1, status: 'done' },
      'status.status must be one of queued, processing, failover, ai_generated, awaiting_callback',
    );
  });

  it('checks the optional fields and keeps them', () => {
    const payload = { seq: 2, status: 'failover', provider: 'b', model: 'm', attempt: 2, reason: 'timeout', extra: 1 };
    const result = parseServerEvent('status', payload);
    expect(result.ok && result.value.payload).toBe(payload);
    expectInvalid('status', { seq: 1, status: 'queued', provider: 3 }, 'status.provider must be a string');
    expectInvalid('status', { seq: 1, status: 'queued', attempt: -1 }, 'status.attempt must be a non-negative integer');
  });

  it('drops null optional fields', () => {
    const result = parseServerEvent('status', { seq: 1, status: 'queued', provider: null, attempt: null });
    expect(result.ok && result.value.payload).toEqual({ seq: 1, status: 'queued' });
  });
});

describe('parseServerEvent: tool_call', () => {
  it('accepts a first delta with id and name, and later ones without', () => {
    const first = { seq: 1, index: 0, id: 'call_1', name: 'get_weather', arguments: '{"ci' };
    const firstResult = parseServerEvent('tool_call', first);
    expect(firstResult.ok && firstResult.value.payload).toBe(first);
    expect(parseServerEvent('tool_call', { seq: 2, index: 0, arguments: 'ty":"Oslo"}' }).ok).toBe(true);
  });

  it('names the bad field', () => {
    expectInvalid('tool_call', { seq: 1, index: -1, arguments: '' }, 'tool_call.index must be a non-negative integer');
    expectInvalid('tool_call', { seq: 1, index: 0.5, arguments: '' }, 'tool_call.index must be a non-negative integer');
    expectInvalid('tool_call', { seq: 1, index: 0, arguments: {} }, 'tool_call.arguments must be a string');
    expectInvalid('tool_call', { seq: 1, index: 0, arguments: '', id: 7 }, 'tool_call.id must be a string');
    expectInvalid('tool_call', { seq: 1, index: 0, arguments: '', name: false }, 'tool_call.name must be a string');
  });

  it('drops null id and name', () => {
    const result = parseServerEvent('tool_call', { seq: 1, index: 1, arguments: 'x', id: null, name: null });
    expect(result.ok && result.value.payload).toEqual({ seq: 1, index: 1, arguments: 'x' });
  });
});

describe('parseServerEvent: response', () => {
  const base = { seq: 5, status: 'success', channel_id: 'c1', meta: { provider: 'openai' } };

  it('accepts a full success response and returns it as is', () => {
    const payload = { ...base, content: 'Hi', data: { a: 1 }, model: 'gpt', customer_data: { u: 1 } };
    const result = parseServerEvent('response', payload);
    expect(result.ok && result.value.payload).toBe(payload);
  });

  it.each(['success', 'error', 'cancelled', 'ai_generated', 'completed'])('accepts status %s', (status) => {
    expect(parseServerEvent('response', { ...base, status }).ok).toBe(true);
  });

  it('rejects a bad status and a missing channel_id', () => {
    expectInvalid(
      'response',
      { ...base, status: 'ok' },
      'response.status must be one of success, error, cancelled, ai_generated, completed',
    );
    expectInvalid('response', { ...base, channel_id: undefined }, 'response.channel_id must be a string');
  });

  it('accepts a missing meta as {} (hosted service compatibility)', () => {
    const result = parseServerEvent('response', { seq: 1, status: 'success', channel_id: 'c' });
    expect(result.ok && result.value.payload).toEqual({ seq: 1, status: 'success', channel_id: 'c', meta: {} });
  });

  it('rejects a meta that is not an object', () => {
    expectInvalid('response', { ...base, meta: 'x' }, 'response.meta must be an object');
    expectInvalid('response', { ...base, meta: [] }, 'response.meta must be an object');
  });

  it('checks optional strings and objects', () => {
    expectInvalid('response', { ...base, content: 1 }, 'response.content must be a string');
    expectInvalid('response', { ...base, task_id: {} }, 'response.task_id must be a string');
    expectInvalid('response', { ...base, customer_data: 'x' }, 'response.customer_data must be an object');
    expectInvalid('response', { ...base, callback_metadata: [1] }, 'response.callback_metadata must be an object');
  });

  it('keeps an error with code and message', () => {
    const payload = { ...base, status: 'error', error: { code: 'provider_error', message: 'down' } };
    const result = parseServerEvent('response', payload);
    expect(result.ok && result.value.payload).toBe(payload);
  });

  it('defaults the code of an error given with a message only', () => {
    const result = parseServerEvent('response', { ...base, status: 'error', error: { message: 'down' } });
    expect(result.ok && (result.value.payload as { error?: unknown }).error).toEqual({
      code: 'request_failed',
      message: 'down',
    });
  });

  it('accepts a bare string error', () => {
    const result = parseServerEvent('response', { ...base, status: 'error', error: 'down' });
    expect(result.ok && (result.value.payload as { error?: unknown }).error).toEqual({
      code: 'request_failed',
      message: 'down',
    });
  });

  it('rejects an unusable error', () => {
    const message = 'response.error must be {code: string, message: string}';
    expectInvalid('response', { ...base, error: { code: 'x' } }, message);
    expectInvalid('response', { ...base, error: { code: 3, message: 'm' } }, message);
    expectInvalid('response', { ...base, error: 5 }, message);
  });

  it('reads null optional fields as absent without touching the input', () => {
    const input = { ...base, content: null, error: null, customer_data: null };
    const result = parseServerEvent('response', input);
    expect(result.ok && result.value.payload).toEqual(base);
    expect(input.content).toBeNull();
  });

  it('keeps data of any type, including null', () => {
    const result = parseServerEvent('response', { ...base, data: null });
    expect(result.ok && 'data' in result.value.payload).toBe(true);
  });
});

describe('parseServerEvent: first_seq outside tokens', () => {
  it.each([
    ['status', { seq: 4, status: 'queued', first_seq: 'x' }],
    ['tool_call', { seq: 4, index: 0, arguments: '', first_seq: 1 }],
    ['response', { seq: 4, status: 'success', channel_id: 'c', meta: {}, first_seq: 2 }],
  ])('removes a stray first_seq from %s so it cannot be read as a range', (event, payload) => {
    const result = parseServerEvent(event, payload);
    expect(result.ok).toBe(true);
    expect(result.ok && 'first_seq' in result.value.payload).toBe(false);
    expect(payload.first_seq).toBeDefined();
  });
});
