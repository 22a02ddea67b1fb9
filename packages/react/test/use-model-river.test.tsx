// @vitest-environment jsdom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { Profiler, StrictMode, useEffect } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMemoryStorage } from '@modelriver/client';
import type { ConnectOptions, ModelRiverClientOptions, StreamState } from '@modelriver/client';
import { ModelRiverProvider, useModelRiver } from '@modelriver/react';
import type { UseModelRiverOptions, UseModelRiverResult } from '@modelriver/react';
import { autoFrames, clientOptions, manualFrames, RecordingTimers, snakeAck, startGateway } from './helpers.js';

const WAIT = { timeout: 10_000 };

afterEach(() => cleanup());

/** Renders the hook's text, status and data; exposes the result for the test to act on. */
function Answer(props: { options: UseModelRiverOptions; onResult?: (r: UseModelRiverResult) => void }) {
  const result = useModelRiver(props.options);
  props.onResult?.(result);
  return (
    <div>
      <p data-testid="text">{result.text}</p>
      <p data-testid="status">{result.status}</p>
      <p data-testid="data">{JSON.stringify(result.message)}</p>
    </div>
  );
}

describe('useModelRiver', () => {
  it('streams tokens into a component and returns the hosted SDK fields', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let result: UseModelRiverResult | undefined;
    render(<Answer options={clientOptions()} onResult={(r) => (result = r)} />);
    expect(result).toMatchObject({ status: 'idle', text: '', response: null, error: null, isConnected: false, isConnecting: false, connectionState: 'disconnected', steps: [], hasPendingRequest: false });
    for (const name of ['connect', 'disconnect', 'reset', 'cancel', 'reconnect']) expect(typeof (result as unknown as Record<string, unknown>)[name]).toBe('function');
    const joined = ch.waitForJoin();
    act(() => result?.connect(gw.connectOptions(ch)));
    await joined;
    await ch.streamText('Hello from the gateway', { chunkSize: 3 });
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('success'), WAIT);
    expect(screen.getByTestId('text').textContent).toBe('Hello from the gateway');
    expect(result?.response?.status).toBe('success');
    expect(result?.steps.every((s) => s.status === 'success')).toBe(true);
  });

  it('connect() takes the async ack exactly as the backend returns it (snake_case)', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let result: UseModelRiverResult | undefined;
    render(<Answer options={clientOptions()} onResult={(r) => (result = r)} />);
    const joined = ch.waitForJoin();
    const ack = await Promise.resolve(snakeAck(gw, ch)); // what `res.json()` gives
    act(() => result?.connect(ack as ConnectOptions));
    await joined;
    ch.tokens('snake');
    ch.respond({ status: 'success' });
    await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('snake'), WAIT);
  });

  it('data (and its alias message) holds the partial object while structured output streams, then the validated one', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const seen: unknown[] = [];
    let result: UseModelRiverResult<{ reply: string; score: number }> | undefined;
    function Structured() {
      const r = useModelRiver<{ reply: string; score: number }>({ ...clientOptions(), request: gw.connectOptions(ch) });
      result = r;
      if (r.message?.reply !== undefined) seen.push(r.message.reply);
      return <p data-testid="reply">{r.message?.reply}</p>;
    }
    const joined = ch.waitForJoin();
    render(<Structured />);
    await joined;
    ch.tokens('{"reply": "Hel');
    await waitFor(() => expect(screen.getByTestId('reply').textContent).toBe('Hel'), WAIT);
    ch.tokens('lo", "score": 0.');
    await waitFor(() => expect(screen.getByTestId('reply').textContent).toBe('Hello'), WAIT);
    ch.tokens('5}');
    ch.respond({ status: 'success', data: { reply: 'Hello', score: 0.5 } });
    await waitFor(() => expect(result?.status).toBe('success'), WAIT);
    expect(result?.data).toEqual({ reply: 'Hello', score: 0.5 });
    expect(seen).toContain('Hel');
  });

  it('tool call arguments are partial while they stream', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let args: unknown;
    function Tools() {
      const r = useModelRiver({ ...clientOptions(), request: gw.connectOptions(ch) });
      args = r.toolCalls[0]?.arguments;
      return null;
    }
    const joined = ch.waitForJoin();
    render(<Tools />);
    await joined;
    ch.toolCall({ index: 0, id: 'call_1', name: 'get_weather', arguments: '{"city": "Os' });
    await waitFor(() => expect(args).toEqual({ city: 'Os' }), WAIT);
    ch.toolCall({ index: 0, arguments: 'lo", "days": 3}' });
    await waitFor(() => expect(args).toEqual({ city: 'Oslo', days: 3 }), WAIT);
  });

  it('commits at most once per animation frame at 2,000 tokens/s', async () => {
    const frames = manualFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let commits = 0;
    let tokens = 0;
    const joined = ch.waitForJoin();
    render(
      <Profiler id="answer" onRender={() => commits++}>
        <Answer options={{ ...clientOptions(), request: gw.connectOptions(ch), onToken: () => tokens++ }} />
      </Profiler>,
    );
    await joined;
    // 2,000 tokens/s at 60 frames/s is about 33 tokens per frame: send them, wait until the
    // client applied them, then let one frame pass.
    let sent = 0;
    for (let f = 0; f < 10; f++) {
      for (let i = 0; i < 33; i++) ch.tokens(`t${sent++} `);
      await vi.waitFor(() => expect(tokens).toBe(sent), WAIT);
      const before = commits;
      act(() => frames.frame());
      expect(commits - before).toBeLessThanOrEqual(1);
      expect(commits - before).toBe(1);
    }
    expect(screen.getByTestId('text').textContent).toBe(ch.text);
  });

  it('a component selecting only status does not re-render per token', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let statusRenders = 0;
    let textRenders = 0;
    let connect: ((o: ConnectOptions) => void) | undefined;
    function StatusBadge() {
      const status = useModelRiver({}, (s: StreamState) => s.status);
      statusRenders++;
      return <span data-testid="badge">{status}</span>;
    }
    function Text() {
      const r = useModelRiver();
      connect = r.connect;
      textRenders++;
      return <p data-testid="text">{r.text}</p>;
    }
    render(
      <ModelRiverProvider options={clientOptions()}>
        <StatusBadge />
        <Text />
      </ModelRiverProvider>,
    );
    const joined = ch.waitForJoin();
    act(() => connect?.(gw.connectOptions(ch)));
    await joined;
    await waitFor(() => expect(screen.getByTestId('badge').textContent).toBe('pending'), WAIT);
    ch.tokens('a');
    await waitFor(() => expect(screen.getByTestId('badge').textContent).toBe('streaming'), WAIT);
    const before = statusRenders;
    const textBefore = textRenders;
    for (let i = 0; i < 20; i++) {
      ch.tokens(`${i},`);
      // Each token in its own frame: the text component renders, the badge does not.
      await waitFor(() => expect(screen.getByTestId('text').textContent?.endsWith(`${i},`)).toBe(true), WAIT);
    }
    expect(textRenders - textBefore).toBeGreaterThanOrEqual(2);
    expect(statusRenders).toBe(before);
    ch.respond({ status: 'success' });
    await waitFor(() => expect(screen.getByTestId('badge').textContent).toBe('success'), WAIT);
    expect(statusRenders).toBe(before + 1);
  });

  it('under StrictMode a mount opens exactly one socket, and unmount closes it with no timer left', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    const joined = ch.waitForJoin();
    const view = render(
      <StrictMode>
        <Answer options={{ ...clientOptions({ timers }), request: gw.connectOptions(ch) }} />
      </StrictMode>,
    );
    const conn = await joined;
    ch.tokens('once');
    await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('once'), WAIT);
    expect(gw.upgrades).toHaveLength(1);
    const closed = conn.waitForClose();
    view.unmount();
    await closed;
    expect(gw.connections).toHaveLength(0);
    expect(timers.pending).toBe(0);
  });

  it('unmount keeps a request that is still streaming persisted, so a reload resumes it', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const options = clientOptions({ storage });
    const joined = ch.waitForJoin();
    const first = render(<Answer options={{ ...options, request: gw.connectOptions(ch) }} />);
    const conn = await joined;
    ch.tokens('Part one, ');
    await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('Part one, '), WAIT);
    const closed = conn.waitForClose();
    first.unmount();
    await closed;
    // Meanwhile the answer goes on.
    ch.tokens('part two, ');
    ch.tokens('part three.');

    // The reloaded page: text from storage at its first render, before any effect ran.
    const rendered: string[] = [];
    let effects = 0;
    function Reloaded() {
      const r = useModelRiver(options);
      rendered.push(r.text);
      useEffect(() => {
        effects++;
      }, []);
      return <p data-testid="text">{r.text}</p>;
    }
    const rejoined = ch.waitForJoin();
    render(<Reloaded />);
    expect(rendered[0]).toBe('Part one, ');
    expect(effects).toBe(1);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('Part one, part two, part three.'), WAIT);
    expect(screen.getByTestId('text').textContent).toBe(ch.text);
  });

  it('new callbacks and a re-render do not open a new socket; callbacks see the latest closure; a new request connects', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const calls: string[] = [];
    const options: ModelRiverClientOptions = clientOptions();
    function App(props: { label: string; request: ConnectOptions }) {
      const r = useModelRiver({ ...options, request: props.request, onToken: (e) => calls.push(`${props.label}:${e.delta}`) });
      return <p data-testid="text">{r.text}</p>;
    }
    const joined = ch.waitForJoin();
    const view = render(<App label="first" request={gw.connectOptions(ch)} />);
    await joined;
    ch.tokens('a');
    await waitFor(() => expect(calls).toEqual(['first:a']), WAIT);
    view.rerender(<App label="second" request={{ ...gw.connectOptions(ch) }} />);
    ch.tokens('b');
    await waitFor(() => expect(calls).toEqual(['first:a', 'second:b']), WAIT);
    expect(gw.upgrades).toHaveLength(1);

    const other = gw.createChannel();
    const otherJoined = other.waitForJoin();
    view.rerender(<App label="third" request={snakeAck(gw, other) as ConnectOptions} />);
    await otherJoined;
    other.tokens('c');
    await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('c'), WAIT);
    expect(calls.at(-1)).toBe('third:c');
  });

  it('cancel() asks the gateway, and the request ends cancelled there', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    let result: UseModelRiverResult | undefined;
    const joined = ch.waitForJoin();
    render(<Answer options={{ ...clientOptions(), request: gw.connectOptions(ch) }} onResult={(r) => (result = r)} />);
    await joined;
    ch.tokens('partial');
    await waitFor(() => expect(screen.getByTestId('text').textContent).toBe('partial'), WAIT);
    await act(async () => {
      await result?.cancel();
    });
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('cancelled'), WAIT);
    expect(ch.ended).toBe('cancelled');
  });
});
