import { describe, expect, it } from 'vitest';
import { ModelRiverError } from './index.js';
import type { StreamEvent } from './index.js';
import { createClient, startGateway } from '../test/harness.js';

describe('stream()', () => {
  it('yields tokens, status and the response, then ends; finalText/finalResponse agree', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch));
    void joined.then(async () => {
      ch.status('processing');
      await ch.streamText('Streaming with for await works.', { chunkSize: 5 });
    });
    const events: StreamEvent[] = [];
    let text = '';
    for await (const event of stream) {
      events.push(event);
      if (event.type === 'tokens') text += event.payload.delta;
    }
    expect(text).toBe('Streaming with for await works.');
    expect(events[0]).toMatchObject({ type: 'status', payload: { status: 'processing' } });
    expect(events.at(-1)).toMatchObject({ type: 'response', payload: { status: 'success' } });
    await expect(stream.finalText()).resolves.toBe('Streaming with for await works.');
    await expect(stream.finalResponse()).resolves.toMatchObject({ status: 'success' });
  });

  it('a break disconnects the request', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('first');
    for await (const event of stream) {
      expect(event.type).toBe('tokens');
      break;
    }
    expect((await conn.waitForClose()).code).toBe(1000);
    expect(client.getState()).toMatchObject({ connectionState: 'disconnected', hasPendingRequest: false });
  });

  it('aborting the signal sends cancel and the loop throws a cancelled error marked isAbort', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const controller = new AbortController();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch), { signal: controller.signal });
    await joined;
    ch.tokens('some');
    let caught: unknown;
    try {
      for await (const event of stream) {
        if (event.type === 'tokens') controller.abort();
      }
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModelRiverError);
    // Named ModelRiverError like every other error (issue 8, item 10: it used to be 'AbortError').
    expect(caught).toMatchObject({ code: 'cancelled', name: 'ModelRiverError', isAbort: true });
    expect((caught as Error).cause).toBe(controller.signal.reason);
    await gw.waitForFrame((f) => f.frame?.[3] === 'cancel');
    await expect(stream.finalResponse()).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('an already aborted signal fails at once without connecting', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const controller = new AbortController();
    controller.abort();
    const stream = client.stream(gw.connectOptions(ch), { signal: controller.signal });
    await expect(stream.finalResponse()).rejects.toMatchObject({ code: 'cancelled', name: 'ModelRiverError', isAbort: true });
    expect(gw.upgrades).toHaveLength(0);
  });

  it('a terminal client error makes the loop throw it', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    ch.refuseJoinsWith = 'unauthorized';
    const client = createClient();
    const stream = client.stream(gw.connectOptions(ch));
    let caught: unknown;
    try {
      for await (const _event of stream) {
        // nothing arrives
      }
    } catch (error) {
      caught = error;
    }
    expect(ModelRiverError.is(caught, 'unauthorized')).toBe(true);
  });

  it.each([
    ['error', { status: 'error', error: { code: 'provider_error', message: 'boom' } }],
    ['cancelled', { status: 'cancelled' }],
  ] as const)('ends (does not throw) on a %s response', async (status, response) => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch));
    await joined;
    ch.tokens('x');
    ch.respond(response);
    const types: string[] = [];
    for await (const event of stream) types.push(event.type);
    expect(types).toEqual(['tokens', 'response']);
    await expect(stream.finalResponse()).resolves.toMatchObject({ status });
  });

  it('survives a drop mid-stream: the iterator sees every token once', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('a');
    ch.tokens('b');
    const consumed = (async () => {
      let text = '';
      for await (const event of stream) if (event.type === 'tokens') text += event.payload.delta;
      return text;
    })();
    const rejoined = ch.waitForJoin();
    conn.drop();
    ch.tokens('c');
    await rejoined;
    ch.tokens('d');
    ch.respond({ status: 'success' });
    expect(await consumed).toBe('abcd');
  });
});
