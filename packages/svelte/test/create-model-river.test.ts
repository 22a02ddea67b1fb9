// @vitest-environment jsdom
import { render, screen } from '@testing-library/svelte';
import { get } from 'svelte/store';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryStorage } from '@modelriver/client';
import type { ModelRiverClientOptions } from '@modelriver/client';
import { createModelRiver } from '@modelriver/svelte';
import type { ModelRiverStores } from '@modelriver/svelte';
import RunesAnswer from './components/RunesAnswer.svelte';
import StoreAnswer from './components/StoreAnswer.svelte';
import { autoFrames, clientOptions, manualFrames, RecordingTimers, snakeAck, startGateway } from './helpers.js';

const WAIT = { timeout: 10_000 };
const shown = (id: string): string => screen.getByTestId(id).textContent ?? '';

/** Renders the Svelte 4 syntax component; returns its stores for the test to act on. */
function storeAnswer(options: ModelRiverClientOptions) {
  let river: ModelRiverStores | undefined;
  const view = render(StoreAnswer, { props: { options, onCreate: (r: ModelRiverStores) => (river = r) } });
  return { view, river: river as ModelRiverStores };
}

describe('createModelRiver (Svelte)', () => {
  it('streams tokens into a component with Svelte 4 store syntax, under the hosted SDK names', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const { river } = storeAnswer(clientOptions());
    expect(get(river.status)).toBe('idle');
    expect(get(river.connectionState)).toBe('disconnected');
    expect(get(river.isConnected)).toBe(false);
    expect(get(river.isConnecting)).toBe(false);
    expect(get(river.hasPendingRequest)).toBe(false);
    expect(get(river.steps)).toEqual([]);
    expect(get(river.response)).toBeNull();
    expect(get(river.error)).toBeNull();
    for (const name of ['connect', 'disconnect', 'reset', 'cancel', 'reconnect', 'destroy'] as const) expect(typeof river[name]).toBe('function');

    const joined = ch.waitForJoin();
    river.connect(snakeAck(gw, ch));
    await joined;
    await vi.waitFor(() => expect(get(river.isConnected)).toBe(true), WAIT);
    await ch.streamText('Hello from the gateway', { chunkSize: 3 });
    await vi.waitFor(() => expect(shown('status')).toBe('success'), WAIT);
    expect(shown('text')).toBe('Hello from the gateway');
    expect(shown('whole')).toBe(String('Hello from the gateway'.length));
    expect(get(river.response)?.status).toBe('success');
    expect(get(river.steps).length).toBeGreaterThan(0);
    expect(get(river.steps).every((s) => s.status === 'success')).toBe(true);
  });

  it('works from Svelte 5 runes: fromStore() and $derived follow the stream', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let river: ModelRiverStores | undefined;
    render(RunesAnswer, { props: { options: clientOptions(), onCreate: (r: ModelRiverStores) => (river = r) } });
    const joined = ch.waitForJoin();
    river?.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('one two ');
    await vi.waitFor(() => expect(shown('words')).toBe('2'), WAIT);
    ch.tokens('three');
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(shown('status')).toBe('success'), WAIT);
    expect(shown('text')).toBe('one two three');
    expect(shown('words')).toBe('3');
    expect(shown('dollar')).toBe('success');
  });

  it('data and message hold the partial object while structured output streams, then the validated one', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const { river } = storeAnswer(clientOptions());
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('{"reply": "Hel');
    await vi.waitFor(() => expect(shown('data')).toBe('{"reply":"Hel"}'), WAIT);
    ch.tokens('lo"}');
    ch.respond({ status: 'success', data: { reply: 'Hello' } });
    await vi.waitFor(() => expect(shown('status')).toBe('success'), WAIT);
    expect(get(river.data)).toEqual({ reply: 'Hello' });
  });

  it('the stores keep working after disconnect() and connect() again', async () => {
    autoFrames();
    const gw = await startGateway();
    const first = gw.createChannel();
    const { river } = storeAnswer(clientOptions());
    const joined = first.waitForJoin();
    river.connect(gw.connectOptions(first));
    const conn = await joined;
    first.tokens('first');
    await vi.waitFor(() => expect(shown('text')).toBe('first'), WAIT);
    const closed = conn.waitForClose();
    river.disconnect();
    await closed;
    await vi.waitFor(() => expect(get(river.isConnected)).toBe(false), WAIT);
    expect(get(river.hasPendingRequest)).toBe(false);

    const second = gw.createChannel();
    const rejoined = second.waitForJoin();
    river.connect(gw.connectOptions(second));
    await rejoined;
    await vi.waitFor(() => expect(get(river.isConnected)).toBe(true), WAIT);
    second.tokens('second');
    second.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(shown('status')).toBe('success'), WAIT);
    expect(shown('text')).toBe('second');
  });

  it('notifies a store at most once per animation frame, and status not per token', async () => {
    const frames = manualFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let tokens = 0;
    const { river } = storeAnswer(clientOptions({ onToken: () => tokens++ } as ModelRiverClientOptions));
    let textCalls = 0;
    let statusCalls = 0;
    const offText = river.text.subscribe(() => textCalls++);
    const offStatus = river.status.subscribe(() => statusCalls++);
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('start ');
    await vi.waitFor(() => expect(tokens).toBe(1), WAIT);
    frames.frame();
    expect(get(river.status)).toBe('streaming');
    const statusBefore = statusCalls;
    let sent = 1;
    for (let f = 0; f < 5; f++) {
      for (let i = 0; i < 33; i++) ch.tokens(`t${sent++} `);
      await vi.waitFor(() => expect(tokens).toBe(sent), WAIT);
      const before = textCalls;
      frames.frame();
      expect(textCalls - before).toBe(1);
    }
    expect(statusCalls).toBe(statusBefore);
    expect(get(river.text)).toBe(ch.text);
    offText();
    offStatus();
  });

  it('resumes after the connection drops, without losing or repeating text', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const { river } = storeAnswer(clientOptions());
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('one, ');
    await vi.waitFor(() => expect(shown('text')).toBe('one, '), WAIT);
    const rejoined = ch.waitForJoin();
    conn.drop();
    ch.tokens('two, ');
    await rejoined;
    ch.tokens('three.');
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(shown('status')).toBe('success'), WAIT);
    expect(shown('text')).toBe('one, two, three.');
    expect(gw.upgrades).toHaveLength(2);
  });

  it('unmount with a request streaming closes the socket and every timer, and keeps the request for a reload', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const timers = new RecordingTimers();
    const options = clientOptions({ storage, timers });
    const { view, river } = storeAnswer(options);
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('Part one, ');
    await vi.waitFor(() => expect(shown('text')).toBe('Part one, '), WAIT);
    const closed = conn.waitForClose();
    view.unmount();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
    // Meanwhile the answer goes on.
    ch.tokens('part two, ');
    ch.tokens('part three.');

    // The reloaded page: the text from storage at its first render, then the rest.
    const rejoined = ch.waitForJoin();
    const reloaded = storeAnswer(options);
    expect(get(reloaded.river.text)).toBe('Part one, ');
    expect(shown('text')).toBe('Part one, ');
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(shown('text')).toBe('Part one, part two, part three.'), WAIT);
    expect(shown('status')).toBe('success');
  });

  it('cancel() asks the gateway, and the request ends cancelled there', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const { river } = storeAnswer(clientOptions());
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('partial');
    await vi.waitFor(() => expect(shown('text')).toBe('partial'), WAIT);
    await river.cancel();
    await vi.waitFor(() => expect(shown('status')).toBe('cancelled'), WAIT);
    expect(ch.ended).toBe('cancelled');
    expect(get(river.error)).toBeNull();
  });

  it('outside a component: destroy() closes the socket and timers, and a later connect() works behind the same stores', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    const river = createModelRiver(clientOptions({ timers }));
    const seen: string[] = [];
    const off = river.text.subscribe((t) => seen.push(t));
    const joined = ch.waitForJoin();
    river.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('module');
    await vi.waitFor(() => expect(get(river.text)).toBe('module'), WAIT);
    const closed = conn.waitForClose();
    river.destroy();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
    expect(river.getClient()).toBeNull();
    expect(get(river.text)).toBe('module');

    const next = gw.createChannel();
    const nextJoined = next.waitForJoin();
    river.connect(gw.connectOptions(next));
    await nextJoined;
    next.tokens('again');
    await vi.waitFor(() => expect(seen.at(-1)).toBe('again'), WAIT);
    off();
    river.destroy();
  });
});
