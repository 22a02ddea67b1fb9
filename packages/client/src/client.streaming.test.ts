import { describe, expect, it, vi } from 'vitest';
import type { TokensPayload, WorkflowStep } from './index.js';
import { createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

describe('streaming', () => {
  it('delivers the text exactly as sent, then the success response, and closes cleanly', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const deltas: string[] = [];
    client.on('tokens', (e) => deltas.push(e.delta));
    const text = 'Hello, world! Ünïcödé 👋🏽 and a long tail '.repeat(20);
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    const response = nextEvent(client, 'response');
    await ch.streamText(text, { chunkSize: 7 });
    const [final] = await response;
    const state = await waitForEnd(client);

    expect(deltas.join('')).toBe(text);
    expect(state.text).toBe(text);
    expect(state.status).toBe('success');
    expect(state.lastSeq).toBe(ch.lastSeq);
    expect(state.metrics.tokenCount).toBe(ch.lastSeq - 1);
    expect(final.status).toBe('success');
    expect(final.content).toBe(text);
    expect(state.connectionState).toBe('disconnected');
    expect((await conn.waitForClose()).code).toBe(1000);
  });

  it('connects with the token and vsn 2.0.0 and joins the websocketChannel with last_seq 0', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    client.connect(gw.connectOptions(ch));
    const join = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join');
    expect(gw.upgrades[0]).toMatchObject({ token: ch.wsToken, accepted: true, vsn: '2.0.0', path: '/socket/websocket' });
    expect(join.frame).toEqual([expect.any(String), join.frame?.[0], ch.topic, 'phx_join', { last_seq: 0 }]);
    const [info] = await nextEvent(client, 'channel_joined');
    expect(info).toEqual({ topic: ch.topic, serverLastSeq: 0, resumed: false });
    expect(client.getState()).toMatchObject({ connectionState: 'connected', isConnected: true, channelId: ch.channelId });
  });

  it('replays events generated before the join', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    ch.status('processing', { provider: 'openai', model: 'gpt-4o' });
    ch.tokens('Early ');
    ch.tokens('bird.');
    const client = createClient();
    const statuses: string[] = [];
    client.on('status', (e) => statuses.push(e.status));
    client.connect(gw.connectOptions(ch));
    await waitForState(client, (s) => s.text === 'Early bird.');
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('Early bird.');
    expect(statuses).toEqual(['processing']);
    expect(state.lastStatus).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
  });

  it('streams tool calls, status and steps', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const toolDeltas: string[] = [];
    const steps: WorkflowStep[] = [];
    client.on('tool_call', (e) => toolDeltas.push(e.arguments));
    client.on('step', (s) => steps.push(s));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.status('processing');
    ch.toolCall({ index: 0, id: 'call_1', name: 'search', arguments: '{"q":' });
    ch.toolCall({ index: 0, arguments: '"cats"}' });
    ch.respond({ status: 'success', content: '' });
    const state = await waitForEnd(client);
    expect(toolDeltas.join('')).toBe('{"q":"cats"}');
    expect(state.toolCalls).toEqual([
      { index: 0, id: 'call_1', name: 'search', argumentsText: '{"q":"cats"}', arguments: { q: 'cats' }, complete: true },
    ]);
    // Every step ends successful, and each step event carried a changed step.
    expect(state.steps.every((s) => s.status === 'success')).toBe(true);
    expect(steps.some((s) => s.id === 'complete' && s.status === 'success')).toBe(true);
  });

  it('emits error with the payload code for a response with status error, and the text stays', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    const error = nextEvent(client, 'error');
    ch.tokens('partial');
    ch.respond({ status: 'error', error: { code: 'provider_error', message: 'upstream 500' }, content: undefined });
    const [err] = await error;
    expect(err.code).toBe('provider_error');
    expect(err.message).toBe('upstream 500');
    const state = await waitForEnd(client);
    expect(state).toMatchObject({ status: 'error', errorCode: 'provider_error', error: 'upstream 500', text: 'partial' });
  });

  it('keeps the link through ai_generated and ends at completed (event-driven workflow)', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const statuses: string[] = [];
    client.on('response', (r) => statuses.push(r.status));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.respond({ status: 'ai_generated', ai_response: { data: { draft: 1 } } });
    await waitForState(client, (s) => s.status === 'ai_generated');
    expect(conn.open).toBe(true);
    expect(client.getState().connectionState).toBe('connected');
    ch.respond({ status: 'completed', data: { final: 2 }, task_id: 't1' });
    const state = await waitForEnd(client);
    expect(statuses).toEqual(['ai_generated', 'completed']);
    expect(state.data).toEqual({ final: 2 });
    expect((await conn.waitForClose()).code).toBe(1000);
  });

  it('a throwing listener neither breaks the stream nor stops other listeners', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    client.on('tokens', () => {
      throw new Error('app bug');
    });
    client.subscribe(() => {
      throw new Error('app bug in subscriber');
    });
    const seen: TokensPayload[] = [];
    client.on('tokens', (e) => seen.push(e));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    await ch.streamText('abcdef', { chunkSize: 2, respond: false });
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('abcdef');
    expect(seen.map((e) => e.delta)).toEqual(['ab', 'cd', 'ef']);
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });

  it('batches state notifications in microtask mode and delivers the last state', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ notify: 'microtask' });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    const texts: string[] = [];
    client.subscribe((s) => texts.push(s.text));
    ch.pause();
    for (let i = 0; i < 50; i++) ch.tokens('x');
    ch.resume(); // 50 frames, likely in one socket read
    await waitForState(client, (s) => s.text.length === 50);
    expect(texts.at(-1)).toBe('x'.repeat(50));
    expect(texts.length).toBeLessThan(50);
  });

  it('on/off: an unsubscribed listener is not called; the same listener is registered once', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const calls: string[] = [];
    const listener = (e: TokensPayload) => calls.push(e.delta);
    client.on('tokens', listener);
    client.on('tokens', listener);
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('a');
    await waitForState(client, (s) => s.text === 'a');
    client.off('tokens', listener);
    ch.tokens('b');
    await waitForState(client, (s) => s.text === 'ab');
    expect(calls).toEqual(['a']);
  });
});
