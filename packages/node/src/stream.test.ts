import { FakeGateway, type FakeChannel } from '@modelriver/test-utils';
import type { StreamEvent } from '@modelriver/client';
import { StreamError } from './index.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ModelRiver } from './client/model-river.js';
import { InvalidRequestError } from './client/errors.js';
import { formatSSE, streamChannel, toSSE } from './stream.js';
import type { AsyncAck } from './wire.js';

let gw: FakeGateway;
beforeEach(async () => {
  gw = await FakeGateway.start();
});
afterEach(async () => {
  await gw.close();
});

function ackFor(ch: FakeChannel): AsyncAck {
  return {
    message: 'success',
    status: 'pending',
    channel_id: ch.channelId,
    project_id: gw.projectId,
    ws_token: ch.wsToken,
    websocket_url: gw.url,
    websocket_channel: ch.topic,
    customer_data: {},
  };
}

async function collect(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const e of stream) events.push(e);
  return events;
}
const textOf = (events: StreamEvent[]) => events.map((e) => (e.type === 'tokens' ? e.payload.delta : '')).join('');

describe('streamChannel', () => {
  it('streams a request to its final response over a real socket, then closes the link', async () => {
    const ch = gw.createChannel();
    const stream = streamChannel(ackFor(ch));
    const events = collect(stream);
    await ch.waitForJoin();
    ch.status('processing', { provider: 'mock', model: 'mock-1' });
    for (const piece of ['Hel', 'lo, ', 'world']) ch.tokens(piece);
    ch.respond({ status: 'success', channel_id: ch.channelId, content: 'Hello, world', meta: {} });
    const all = await events;
    // A consumer that lags gets consecutive tokens merged: compare the kinds without repeats.
    expect(all.map((e) => e.type).filter((t, i, a) => t !== a[i - 1])).toEqual(['status', 'tokens', 'response']);
    expect(textOf(all)).toBe('Hello, world');
    expect(await stream.finalResponse()).toMatchObject({ status: 'success', content: 'Hello, world' });
    expect(await stream.finalText()).toBe('Hello, world');
    await vi.waitFor(() => expect(gw.connections).toHaveLength(0));
  });

  it('resumes after a dropped connection without losing or repeating a token', async () => {
    const ch = gw.createChannel();
    const stream = streamChannel(ackFor(ch), { clientOptions: { reconnect: { initialDelayMs: 10, maxDelayMs: 20 } } });
    const events = collect(stream);
    const first = await ch.waitForJoin();
    ch.tokens('one ');
    ch.tokens('two ');
    first.drop();
    ch.tokens('three ');
    await ch.waitForJoin();
    ch.tokens('four');
    ch.respond({ status: 'success', channel_id: ch.channelId, content: 'one two three four', meta: {} });
    expect(textOf(await events)).toBe('one two three four');
    // The single-use ws_token was presented once; the reconnect used the resume token.
    expect(gw.upgrades.filter((u) => u.accepted).map((u) => u.kind)).toEqual(['ws_token', 'resume_token']);
  });

  it('leaving the loop early disconnects', async () => {
    const ch = gw.createChannel();
    const stream = streamChannel(ackFor(ch));
    await ch.waitForJoin().then(() => ch.tokens('a'));
    for await (const e of stream) {
      expect(e.type).toBe('tokens');
      break;
    }
    await vi.waitFor(() => expect(gw.connections).toHaveLength(0));
    await expect(stream.finalResponse()).rejects.toMatchObject({ code: 'stream_ended' });
  });

  it('aborting sends cancel to the gateway and makes the loop throw a cancelled error (isAbort)', async () => {
    const ch = gw.createChannel();
    const cancelled = new Promise<void>((resolve) => {
      ch.onCancel = () => {
        ch.respond({ status: 'cancelled' });
        resolve();
      };
    });
    const ac = new AbortController();
    const stream = streamChannel(ackFor(ch), { signal: ac.signal });
    await ch.waitForJoin();
    ch.tokens('partial');
    const loop = collect(stream).catch((e: unknown) => e);
    await vi.waitFor(() => expect(ch.lastSeq).toBe(1));
    ac.abort();
    const err = await loop;
    expect(err).toMatchObject({ code: 'cancelled', isAbort: true });
    expect(err).toBeInstanceOf(StreamError);
    await cancelled;
    await vi.waitFor(() => expect(gw.connections).toHaveLength(0));
  });

  it('after an abort the gateway never confirms, closes the link after cancelGraceMs', async () => {
    const ch = gw.createChannel();
    let cancels = 0;
    ch.onCancel = () => void cancels++;
    const ac = new AbortController();
    const stream = streamChannel(ackFor(ch), { signal: ac.signal, cancelGraceMs: 50 });
    await ch.waitForJoin();
    const loop = collect(stream).catch((e: unknown) => e);
    ac.abort();
    expect(await loop).toMatchObject({ code: 'cancelled', isAbort: true });
    await vi.waitFor(() => expect(gw.connections).toHaveLength(0));
    expect(cancels).toBe(1);
  });

  it('refuses an ack that is not one', () => {
    expect(() => streamChannel({ channel_id: 'x' } as AsyncAck)).toThrow(InvalidRequestError);
  });
});

describe('ModelRiver#stream', () => {
  it('asks POST /v1/ai/reconnect for a fresh token when the resume token is refused', async () => {
    const ch = gw.createChannel();
    const modelRiver = new ModelRiver({ apiKey: 'mr_test_x', baseUrl: gw.httpUrl });
    const stream = modelRiver.stream(ackFor(ch), { clientOptions: { reconnect: { initialDelayMs: 10, maxDelayMs: 20 } } });
    const events = collect(stream);
    const first = await ch.waitForJoin();
    ch.tokens('before ');
    ch.revokeTokens('resume_token');
    first.drop();
    await ch.waitForJoin();
    ch.tokens('after');
    ch.respond({ status: 'success', channel_id: ch.channelId, meta: {} });
    expect(textOf(await events)).toBe('before after');
    expect(gw.httpRequests.map((r) => r.path)).toContain('/v1/ai/reconnect');
  });
});

describe('Server-Sent Events', () => {
  it('formats one event per stream event', () => {
    expect(formatSSE({ type: 'tokens', payload: { seq: 3, delta: 'Hi\nthere' } })).toBe(
      'event: tokens\nid: 3\ndata: {"seq":3,"delta":"Hi\\nthere"}\n\n',
    );
  });

  it('relays a stream as text/event-stream bytes', async () => {
    const ch = gw.createChannel();
    const body = toSSE(streamChannel(ackFor(ch)));
    const text = new Response(body).text();
    await ch.waitForJoin();
    ch.tokens('Hi');
    ch.respond({ status: 'success', channel_id: ch.channelId, content: 'Hi', meta: {} });
    const blocks = (await text).split('\n\n').filter(Boolean);
    expect(blocks).toHaveLength(2);
    const parsed = blocks.map((b) => {
      const [event, id, data] = b.split('\n');
      return { event, id, data: JSON.parse(data!.slice('data: '.length)) as Record<string, unknown> };
    });
    expect(parsed[0]).toEqual({ event: 'event: tokens', id: 'id: 1', data: { seq: 1, delta: 'Hi' } });
    expect(parsed[1]).toMatchObject({ event: 'event: response', id: 'id: 2', data: { seq: 2, status: 'success', content: 'Hi' } });
  });

  it('ends with an error event when the stream fails', async () => {
    const failing: AsyncIterable<StreamEvent> = {
      async *[Symbol.asyncIterator]() {
        yield { type: 'tokens', payload: { seq: 1, delta: 'x' } } as StreamEvent;
        throw Object.assign(new Error('join refused: unauthorized'), { code: 'unauthorized' });
      },
    };
    const text = await new Response(toSSE(failing)).text();
    expect(text.endsWith('event: error\ndata: {"code":"unauthorized","message":"join refused: unauthorized"}\n\n')).toBe(true);
  });

  it('cancelling the body leaves the loop (the browser went away)', async () => {
    const ch = gw.createChannel();
    const stream = streamChannel(ackFor(ch));
    const reader = toSSE(stream).getReader();
    await ch.waitForJoin();
    ch.tokens('a');
    await reader.read();
    await reader.cancel();
    await vi.waitFor(() => expect(gw.connections).toHaveLength(0));
  });
});
