// @vitest-environment jsdom
import { flushPromises, mount } from '@vue/test-utils';
import type { VueWrapper } from '@vue/test-utils';
import { defineComponent, effectScope, h, nextTick, onUpdated, ref, watch } from 'vue';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStorage } from '@modelriver/client';
import type { ConnectOptions, ModelRiverClientOptions } from '@modelriver/client';
import { useModelRiver } from '@modelriver/vue';
import type { UseModelRiverOptions, UseModelRiverReturn } from '@modelriver/vue';
import { autoFrames, clientOptions, manualFrames, RecordingTimers, snakeAck, startGateway } from './helpers.js';

const WAIT = { timeout: 10_000 };

const mounted: VueWrapper[] = [];
afterEach(() => {
  mounted.splice(0).forEach((w) => w.unmount());
});

/** A component rendering the composable's text, status and data; exposes the result to the test. */
function answer(options: UseModelRiverOptions, hooks: { onResult?: (r: UseModelRiverReturn) => void; onRender?: () => void } = {}) {
  const Answer = defineComponent({
    setup() {
      const r = useModelRiver(options);
      hooks.onResult?.(r);
      onUpdated(() => hooks.onRender?.());
      return () =>
        h('div', [
          h('p', { 'data-testid': 'text' }, r.text.value),
          h('p', { 'data-testid': 'status' }, r.status.value),
          h('p', { 'data-testid': 'data' }, JSON.stringify(r.message.value)),
        ]);
    },
  });
  const wrapper = mount(Answer);
  let alive = true;
  const unmount = () => {
    if (alive) wrapper.unmount();
    alive = false;
  };
  mounted.push({ unmount } as VueWrapper);
  const get = (id: string) => wrapper.get(`[data-testid="${id}"]`).element.textContent ?? '';
  return { wrapper, get, unmount };
}

describe('useModelRiver (Vue)', () => {
  it('streams tokens into a component and returns the hosted SDK names', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let result: UseModelRiverReturn | undefined;
    const view = answer(clientOptions(), { onResult: (r) => (result = r) });
    const r = result as UseModelRiverReturn;
    expect(r.status.value).toBe('idle');
    expect(r.connectionState.value).toBe('disconnected');
    expect(r.isConnected.value).toBe(false);
    expect(r.isConnecting.value).toBe(false);
    expect(r.hasPendingRequest.value).toBe(false);
    expect(r.steps.value).toEqual([]);
    expect(r.response.value).toBeNull();
    expect(r.error.value).toBeNull();
    for (const name of ['connect', 'disconnect', 'reset', 'cancel', 'reconnect'] as const) expect(typeof r[name]).toBe('function');

    const joined = ch.waitForJoin();
    r.connect(gw.connectOptions(ch));
    await joined;
    await vi.waitFor(() => expect(r.isConnected.value).toBe(true), WAIT);
    await ch.streamText('Hello from the gateway', { chunkSize: 3 });
    await vi.waitFor(() => expect(view.get('status')).toBe('success'), WAIT);
    expect(view.get('text')).toBe('Hello from the gateway');
    expect(r.response.value?.status).toBe('success');
    expect(r.steps.value.length).toBeGreaterThan(0);
    expect(r.steps.value.every((s) => s.status === 'success')).toBe(true);
    expect(r.metrics.value.tokenCount).toBeGreaterThan(0);
  });

  it('a request option (a ref holding the snake_case ack) connects, and a new channel_id connects again', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const request = ref<ConnectOptions | null>(null);
    const view = answer({ ...clientOptions(), request });
    const joined = ch.waitForJoin();
    request.value = snakeAck(gw, ch) as ConnectOptions;
    await joined;
    ch.tokens('snake');
    await vi.waitFor(() => expect(view.get('text')).toBe('snake'), WAIT);
    // The same channel again (a new object): no new socket.
    request.value = { ...snakeAck(gw, ch) } as ConnectOptions;
    await flushPromises();
    ch.tokens(' again');
    await vi.waitFor(() => expect(view.get('text')).toBe('snake again'), WAIT);
    expect(gw.upgrades).toHaveLength(1);
    const other = gw.createChannel();
    const otherJoined = other.waitForJoin();
    request.value = snakeAck(gw, other) as ConnectOptions;
    await otherJoined;
    other.tokens('other');
    await vi.waitFor(() => expect(view.get('text')).toBe('other'), WAIT);
  });

  it('data and message hold the partial object while structured output streams, then the validated one', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let result: UseModelRiverReturn<{ reply: string; score: number }> | undefined;
    const joined = ch.waitForJoin();
    answer({ ...clientOptions(), request: gw.connectOptions(ch) }, { onResult: (r) => (result = r as UseModelRiverReturn<{ reply: string; score: number }>) });
    await joined;
    ch.tokens('{"reply": "Hel');
    await vi.waitFor(() => expect(result?.message.value?.reply).toBe('Hel'), WAIT);
    ch.tokens('lo", "score": 0.');
    await vi.waitFor(() => expect(result?.data.value?.reply).toBe('Hello'), WAIT);
    ch.tokens('5}');
    ch.respond({ status: 'success', data: { reply: 'Hello', score: 0.5 } });
    await vi.waitFor(() => expect(result?.status.value).toBe('success'), WAIT);
    expect(result?.data.value).toEqual({ reply: 'Hello', score: 0.5 });
  });

  it('renders at most once per animation frame while tokens pour in', async () => {
    const frames = manualFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let renders = 0;
    let tokens = 0;
    const joined = ch.waitForJoin();
    const view = answer({ ...clientOptions(), request: gw.connectOptions(ch), onToken: () => tokens++ }, { onRender: () => renders++ });
    await joined;
    let sent = 0;
    for (let f = 0; f < 5; f++) {
      for (let i = 0; i < 33; i++) ch.tokens(`t${sent++} `);
      await vi.waitFor(() => expect(tokens).toBe(sent), WAIT);
      await nextTick();
      const before = renders;
      frames.frame();
      await nextTick();
      expect(renders - before).toBe(1);
    }
    expect(view.get('text')).toBe(ch.text);
  });

  it('resumes after the connection drops, without losing or repeating text', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const joined = ch.waitForJoin();
    const view = answer({ ...clientOptions(), request: gw.connectOptions(ch) });
    const conn = await joined;
    ch.tokens('one, ');
    await vi.waitFor(() => expect(view.get('text')).toBe('one, '), WAIT);
    const rejoined = ch.waitForJoin();
    conn.drop();
    ch.tokens('two, ');
    await rejoined;
    ch.tokens('three.');
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(view.get('status')).toBe('success'), WAIT);
    expect(view.get('text')).toBe('one, two, three.');
    expect(gw.upgrades).toHaveLength(2);
  });

  it('unmount with a request streaming closes the socket and every timer, and keeps the request for a reload', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const timers = new RecordingTimers();
    const options: ModelRiverClientOptions = clientOptions({ storage, timers });
    const joined = ch.waitForJoin();
    const first = answer({ ...options, request: gw.connectOptions(ch) });
    const conn = await joined;
    ch.tokens('Part one, ');
    await vi.waitFor(() => expect(first.get('text')).toBe('Part one, '), WAIT);
    const closed = conn.waitForClose();
    first.unmount();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
    // Meanwhile the answer goes on.
    ch.tokens('part two, ');
    ch.tokens('part three.');

    // The reloaded page: the text from storage at its first render, then the rest.
    let firstText: string | undefined;
    const rejoined = ch.waitForJoin();
    const reloaded = answer(options, { onResult: (r) => (firstText = r.text.value) });
    expect(firstText).toBe('Part one, ');
    expect(reloaded.get('text')).toBe('Part one, ');
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    await vi.waitFor(() => expect(reloaded.get('text')).toBe('Part one, part two, part three.'), WAIT);
    expect(reloaded.get('status')).toBe('success');
  });

  it('cancel() asks the gateway, and the request ends cancelled there', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let result: UseModelRiverReturn | undefined;
    const joined = ch.waitForJoin();
    const view = answer({ ...clientOptions(), request: gw.connectOptions(ch) }, { onResult: (r) => (result = r) });
    await joined;
    ch.tokens('partial');
    await vi.waitFor(() => expect(view.get('text')).toBe('partial'), WAIT);
    await result?.cancel();
    await vi.waitFor(() => expect(view.get('status')).toBe('cancelled'), WAIT);
    expect(ch.ended).toBe('cancelled');
    expect(result?.error.value).toBeNull();
  });

  it('works outside a component in an effect scope, and stopping the scope closes the socket and timers', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    const scope = effectScope();
    const r = scope.run(() => useModelRiver(clientOptions({ timers }))) as UseModelRiverReturn;
    const joined = ch.waitForJoin();
    r.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('scoped');
    await vi.waitFor(() => expect(r.text.value).toBe('scoped'), WAIT);
    expect(r.hasPendingRequest.value).toBe(true);
    const closed = conn.waitForClose();
    scope.stop();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
    // The refs keep what they showed.
    expect(r.text.value).toBe('scoped');
  });

  it('each ref triggers only when its own value changed', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const scope = effectScope();
    const r = scope.run(() => useModelRiver({ ...clientOptions(), request: gw.connectOptions(ch) })) as UseModelRiverReturn;
    let statusRuns = 0;
    scope.run(() => {
      // A watcher on status alone: tokens must not wake it.
      watch(r.status, () => statusRuns++, { flush: 'sync' });
    });
    await ch.waitForJoin();
    ch.tokens('a');
    await vi.waitFor(() => expect(r.status.value).toBe('streaming'), WAIT);
    const before = statusRuns;
    for (let i = 0; i < 10; i++) {
      ch.tokens(`${i}`);
      await vi.waitFor(() => expect(r.text.value.endsWith(`${i}`)).toBe(true), WAIT);
    }
    expect(statusRuns).toBe(before);
    scope.stop();
  });
});
