import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeGateway } from './fake-gateway.js';
import { RawClient } from './raw-client.js';

let gw: FakeGateway;

afterEach(async () => {
  vi.useRealTimers();
  await gw.close();
});

describe('FakeChannel events', () => {
  beforeEach(async () => {
    gw = await FakeGateway.start({ projectId: '2f1e0c4e-8a8e-4c5b-9a53-3c1f1b2d9e10' });
  });

  it('numbers events from 1 and names its topic after the project and channel', () => {
    const ch = gw.createChannel({ channelId: '0b8f8a52-3f7e-4b0e-8d0a-6f3c2a1b9c7d' });
    expect(ch.topic).toBe('ai_response:2f1e0c4e-8a8e-4c5b-9a53-3c1f1b2d9e10:0b8f8a52-3f7e-4b0e-8d0a-6f3c2a1b9c7d');
    expect(ch.lastSeq).toBe(0);
    expect(ch.status('queued')).toBe(1);
    expect(ch.toolCall({ index: 0, id: 'c1', name: 'f', arguments: '{' })).toBe(2);
    expect(ch.emit('tokens', { delta: 'x' })).toBe(3);
    expect(ch.log.map((e) => e.payload.seq)).toEqual([1, 2, 3]);
    expect(gw.channel(ch.channelId)).toBe(ch);
  });

  it('respond fills channel_id, meta and content unless given', () => {
    const ch = gw.createChannel();
    ch.tokens('he');
    ch.tokens('llo');
    ch.respond({ status: 'ai_generated', ai_response: { data: 1 } });
    ch.respond({ status: 'completed', content: 'other', meta: { provider: 'p' } });
    expect(ch.log.slice(2).map((e) => e.payload)).toEqual([
      { seq: 3, status: 'ai_generated', ai_response: { data: 1 }, channel_id: ch.channelId, meta: {}, content: 'hello' },
      { seq: 4, status: 'completed', channel_id: ch.channelId, meta: { provider: 'p' }, content: 'other' },
    ]);
    expect(ch.ended).toBe('completed');
  });

  it('respond with content: undefined sends no content key, so the client keeps its own text', async () => {
    const ch = gw.createChannel();
    const client = await RawClient.connect(gw.socketUrl(ch.wsToken));
    try {
      await client.join(ch.topic, 0);
      ch.tokens('streamed');
      ch.respond({ status: 'success', content: undefined });
      const payload = ch.log[1]?.payload;
      expect(payload).toEqual({ seq: 2, status: 'success', channel_id: ch.channelId, meta: {} });
      expect(payload !== undefined && 'content' in payload).toBe(false);
      await expect(client.nextEvent('response')).resolves.toEqual({ seq: 2, status: 'success', channel_id: ch.channelId, meta: {} });
      const text = client.raw.find((t) => t.includes('"response"'));
      expect(text).toBeDefined();
      expect(text).not.toContain('content');
    } finally {
      client.close();
    }
  });

  it('refuses a non-UUID or duplicate channel id with a typed error', () => {
    const ch = gw.createChannel();
    expect(() => gw.createChannel({ channelId: 'abc' })).toThrow(expect.objectContaining({ code: 'invalid_channel_id' }));
    expect(() => gw.createChannel({ channelId: ch.channelId })).toThrow(expect.objectContaining({ code: 'duplicate_channel' }));
  });

  it('streamText emits chunks of code points, never splitting a surrogate pair, then success', async () => {
    const ch = gw.createChannel();
    await ch.streamText('a😀bc🎉d', { chunkSize: 2 });
    expect(ch.log.map((e) => (e.event === 'tokens' ? e.payload.delta : e.payload))).toEqual([
      'a😀',
      'bc',
      '🎉d',
      { seq: 4, status: 'success', channel_id: ch.channelId, meta: {}, content: 'a😀bc🎉d' },
    ]);
  });

  it('streamText without respond leaves the channel open', async () => {
    const ch = gw.createChannel();
    await ch.streamText('abcdef', { respond: false });
    expect(ch.log.map((e) => e.event)).toEqual(['tokens', 'tokens']);
    expect(ch.ended).toBeNull();
  });
});

describe('FakeChannel pacing', () => {
  it('paces streamText on injected timers', async () => {
    vi.useFakeTimers();
    gw = await FakeGateway.start({
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as number) },
    });
    const ch = gw.createChannel();
    const done = ch.streamText('abc', { chunkSize: 1, intervalMs: 100 });
    expect(ch.lastSeq).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(ch.lastSeq).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    await done;
    expect(ch.log.map((e) => e.event)).toEqual(['tokens', 'tokens', 'tokens', 'response']);
  });
});
