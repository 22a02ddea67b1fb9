import { describe, expect, it } from 'vitest';
import { createMemoryStorage, ModelRiverError, STREAM_ENDED } from './index.js';
import type { ConnectionTransition, StreamEvent, WorkflowStep } from './index.js';
import { createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';
import type { EventStream } from './event-stream.js';

/** Reads `stream` to its end: the event types seen, or the error the loop threw. */
async function drain(stream: EventStream): Promise<{ types: string[]; error: unknown }> {
  const types: string[] = [];
  try {
    for await (const event of stream) types.push(event.type);
  } catch (error) {
    return { types, error };
  }
  return { types, error: null };
}

describe('stream() again for the same request', () => {
  it('ends the earlier stream: its loop finishes and its final promises reject with stream_ended', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const first = client.stream(gw.connectOptions(ch));
    await joined;
    ch.tokens('a');
    await waitForState(client, (s) => s.text === 'a');
    const firstRead = drain(first);
    const second = client.stream(gw.connectOptions(ch));
    expect(await firstRead).toEqual({ types: ['tokens'], error: null });
    await expect(first.finalResponse()).rejects.toMatchObject({ code: STREAM_ENDED, message: expect.stringMatching(/replaced/) });
    await expect(first.finalText()).rejects.toBeInstanceOf(ModelRiverError);
    // The request goes on, for the stream that took it over.
    ch.tokens('b');
    ch.respond({ status: 'success' });
    expect(await drain(second)).toEqual({ types: ['tokens', 'response'], error: null });
    await expect(second.finalText()).resolves.toBe('ab');
    expect(gw.upgrades).toHaveLength(1);
  });

  it('a break out of the earlier stream does not disconnect the request the new one reads', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const disconnects: string[] = [];
    client.on('disconnected', (_reason: string, transition: ConnectionTransition) => disconnects.push(transition.reason));
    const joined = ch.waitForJoin();
    const first = client.stream(gw.connectOptions(ch));
    await joined;
    ch.tokens('a');
    await waitForState(client, (s) => s.text === 'a');
    const second = client.stream(gw.connectOptions(ch));
    // The earlier stream still holds the token it had queued; breaking after it must leave the request alone.
    for await (const event of first) {
      expect(event.type).toBe('tokens');
      break;
    }
    expect(client.getState()).toMatchObject({ connectionState: 'connected', status: 'streaming' });
    ch.tokens('b');
    ch.respond({ status: 'success' });
    expect(await drain(second)).toEqual({ types: ['tokens', 'response'], error: null });
    expect(disconnects).toEqual(['completed']);
  });
});

describe('a response listener that ends or replaces the request', () => {
  it('disconnect(): the stream() consumer still gets the response and the loop ends', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch));
    await joined;
    const steps: WorkflowStep[] = [];
    client.on('response', () => client.disconnect());
    client.on('step', (step) => steps.push(step));
    ch.tokens('hi');
    ch.respond({ status: 'success' });
    expect(await drain(stream)).toEqual({ types: ['tokens', 'response'], error: null });
    await expect(stream.finalResponse()).resolves.toMatchObject({ status: 'success' });
    await expect(stream.finalText()).resolves.toBe('hi');
    // The state still shows this request: its last steps are reported.
    expect(steps.map((s) => [s.id, s.status])).toContainEqual(['complete', 'success']);
    expect(client.getState()).toMatchObject({ status: 'success', connectionState: 'disconnected', hasPendingRequest: false });
  });

  it('disconnect(): an error response still emits `error`', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch));
    await joined;
    client.on('response', () => client.disconnect());
    const errored = nextEvent(client, 'error');
    ch.respond({ status: 'error', error: { code: 'provider_error', message: 'boom' } });
    const [error] = await errored;
    expect(error).toMatchObject({ code: 'provider_error', message: 'boom' });
    expect(await drain(stream)).toEqual({ types: ['response'], error: null });
  });

  it('connect() for another request: the stream gets the response, and no step of the new request is reported', async () => {
    const gw = await startGateway();
    const ch1 = gw.createChannel();
    const ch2 = gw.createChannel();
    const client = createClient();
    const joined1 = ch1.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch1));
    await joined1;
    let stepsAfterResponse: WorkflowStep[] | null = null;
    client.on('step', (step) => stepsAfterResponse?.push(step));
    const joined2 = ch2.waitForJoin();
    client.on('response', () => {
      stepsAfterResponse = [];
      client.connect(gw.connectOptions(ch2));
    });
    ch1.tokens('one');
    ch1.respond({ status: 'success' });
    expect(await drain(stream)).toEqual({ types: ['tokens', 'response'], error: null });
    expect(stepsAfterResponse).toEqual([]);
    await joined2;
    expect(client.getState()).toMatchObject({ channelId: ch2.channelId, status: 'pending', text: '' });
    ch2.respond({ status: 'success', content: 'two' });
    expect((await waitForEnd(client)).text).toBe('two');
  });

  it('a cancel() in flight resolves although a response listener disconnects', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    client.on('response', () => client.disconnect());
    const cancelling = client.cancel();
    // Sent before the gateway has even read the cancel, so it arrives before the cancel's reply.
    ch.respond({ status: 'success' });
    await expect(cancelling).resolves.toBeUndefined();
  });

  it('cancel() inside a terminal response listener resolves: the request has ended', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    let cancelled: Promise<void> | null = null;
    client.on('response', () => {
      cancelled = client.cancel();
    });
    ch.respond({ status: 'success' });
    await waitForEnd(client);
    await expect(cancelled).resolves.toBeUndefined();
  });
});

describe("finalText() of a client's stream", () => {
  it('is the whole text when the response has no content and the stream started after some tokens', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('Hello, ');
    await waitForState(client, (s) => s.text === 'Hello, ');
    const stream = client.stream(gw.connectOptions(ch));
    ch.tokens('world');
    // Emitted as is: no `content`, so the text is whatever was streamed.
    ch.emit('response', { status: 'success', channel_id: ch.channelId, meta: {} });
    const events: StreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.type)).toEqual(['tokens', 'response']);
    expect((await stream.finalResponse()).content).toBeUndefined();
    await expect(stream.finalText()).resolves.toBe('Hello, world');
  });

  it('includes the text restored from storage after a reload', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const page1 = createClient({ persist: true, storage, reconnect: false });
    const joined = ch.waitForJoin();
    page1.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('The quick ');
    await waitForState(page1, (s) => s.lastSeq === 1);
    const down = nextEvent(page1, 'disconnected');
    conn.drop();
    await down;

    const page2 = createClient({ persist: true, storage });
    expect(page2.getState().text).toBe('The quick ');
    const rejoined = ch.waitForJoin();
    const stream = page2.stream(gw.connectOptions(ch, ch.issueToken()));
    await rejoined;
    ch.tokens('brown fox');
    ch.emit('response', { status: 'success', channel_id: ch.channelId, meta: {} });
    await expect(stream.finalText()).resolves.toBe('The quick brown fox');
  });
});
