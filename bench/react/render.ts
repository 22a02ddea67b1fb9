/**
 * Render cost of `useModelRiver` beside `@ai-sdk/react`'s `useChat`, fed the same token stream
 * at 100, 1,000 and 5,000 tokens/s in jsdom, same run. Time is simulated: each 1/60 s frame
 * delivers rate/60 tokens, then the frame's callbacks run. Prints commits per second (Profiler
 * `onRender`) and main-thread ms per 1,000 tokens, and their ratios; nothing is asserted.
 *
 * Run from the repository root: `npx tsx bench/react/render.ts`.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import type { ModelRiverClientOptions, WebSocketLike } from '../../packages/client/src/index.js';
import { useModelRiver } from '../../packages/react/src/index.js';

// React and jsdom are the React package's dependencies, not the root's.
const requireFromReact = createRequire(new URL('../../packages/react/package.json', import.meta.url));
const requireFromRoot = createRequire(import.meta.url);

type Element = unknown;
interface ReactLike {
  createElement(type: unknown, props?: Record<string, unknown> | null, ...children: unknown[]): Element;
  Profiler: unknown;
  act(fn: () => unknown): Promise<void>;
  useEffect(fn: () => void | (() => void), deps?: unknown[]): void;
}
const { JSDOM } = requireFromReact('jsdom') as { JSDOM: new (html: string) => { window: Record<string, unknown> & { document: unknown } } };
const dom = new JSDOM('<!doctype html><div id="root"></div>');
const g = globalThis as Record<string, unknown>;
for (const key of ['window', 'document', 'navigator', 'HTMLElement', 'Node', 'MessageChannel']) {
  if (!(key in g) || key === 'window' || key === 'document') g[key] = key === 'window' ? dom.window : dom.window[key];
}
g.IS_REACT_ACT_ENVIRONMENT = true;
// useChat updates from its stream outside act() and React says so for every chunk: not a result.
console.error = () => undefined;
let frameQueue: Array<() => void> = [];
g.requestAnimationFrame = (fn: () => void) => frameQueue.push(fn);
g.cancelAnimationFrame = () => undefined;

const React = requireFromReact('react') as ReactLike;
const { createRoot } = requireFromReact('react-dom/client') as { createRoot(el: unknown): { render(e: Element): void; unmount(): void } };
const { useChat } = requireFromRoot('@ai-sdk/react') as {
  useChat(options: Record<string, unknown>): { messages: Array<{ parts: Array<{ type: string; text?: string }> }>; sendMessage(m: { text: string }): Promise<void> };
};

const FRAMES = 60;
const RATES = [100, 1_000, 5_000];

/** A socket the bench feeds directly: it answers the join, then carries the tokens it is given. */
class FeedSocket implements WebSocketLike {
  static current: FeedSocket | null = null;
  readyState = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  topic = '';
  seq = 0;
  constructor() {
    FeedSocket.current = this;
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }
  send(data: string): void {
    const [joinRef, ref, topic, event] = JSON.parse(data) as [string, string, string, string];
    if (event === 'phx_join') {
      this.topic = topic;
      this.deliver([joinRef, ref, topic, 'phx_reply', { status: 'ok', response: { last_seq: 0, resume_token: 'r' } }]);
    }
  }
  token(delta: string): void {
    this.deliver([null, null, this.topic, 'tokens', { seq: ++this.seq, delta }]);
  }
  deliver(frame: unknown[]): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  close(): void {
    this.readyState = 3;
  }
}

interface Result {
  commits: number;
  ms: number;
  tokens: number;
}

async function runOurs(rate: number): Promise<Result> {
  let commits = 0;
  FeedSocket.current = null;
  const options: ModelRiverClientOptions = { WebSocket: FeedSocket, persist: false, heartbeatInterval: Infinity, lifecycle: () => () => undefined };
  function App(): Element {
    const { text } = useModelRiver({ ...options, request: { channelId: 'c', wsToken: 't', websocketUrl: 'ws://bench/socket', websocketChannel: 'ai_response:p:c' } });
    return React.createElement('p', null, text);
  }
  const root = createRoot((dom.window.document as { getElementById(id: string): unknown }).getElementById('root'));
  await React.act(() => root.render(React.createElement(React.Profiler, { id: 'ours', onRender: () => commits++ }, React.createElement(App))));
  const joined = (): FeedSocket | null => {
    const socket = FeedSocket.current as FeedSocket | null;
    return socket !== null && socket.topic !== '' ? socket : null;
  };
  while (joined() === null) await React.act(() => new Promise((r) => setTimeout(r, 0)));
  const socket = joined() as FeedSocket;
  await React.act(() => new Promise((r) => setTimeout(r, 0)));
  // Run the frame the set-up asked for (dropping it would leave the client waiting for it).
  await React.act(() => {
    const run = frameQueue;
    frameQueue = [];
    for (const fn of run) fn();
  });
  commits = 0;
  const perFrame = rate / FRAMES;
  let owed = 0;
  let sent = 0;
  const t0 = performance.now();
  for (let f = 0; f < FRAMES; f++) {
    owed += perFrame;
    await React.act(() => {
      for (; owed >= 1; owed--) socket.token(`w${sent++} `);
      const run = frameQueue;
      frameQueue = [];
      for (const fn of run) fn();
    });
  }
  const ms = performance.now() - t0;
  await React.act(() => root.unmount());
  return { commits, ms, tokens: sent };
}

async function runUseChat(rate: number): Promise<Result> {
  let commits = 0;
  let controller: ReadableStreamDefaultController<unknown> | null = null;
  const transport = {
    sendMessages: async () =>
      new ReadableStream({
        start(c) {
          controller = c;
          c.enqueue({ type: 'start' });
          c.enqueue({ type: 'text-start', id: 't' });
        },
      }),
    reconnectToStream: async () => null,
  };
  let send: ((m: { text: string }) => Promise<void>) | null = null;
  function App(): Element {
    const chat = useChat({ transport });
    send = chat.sendMessage;
    const last = chat.messages.at(-1);
    return React.createElement('p', null, last?.parts.map((p) => p.text ?? '').join(''));
  }
  const root = createRoot((dom.window.document as { getElementById(id: string): unknown }).getElementById('root'));
  await React.act(() => root.render(React.createElement(React.Profiler, { id: 'useChat', onRender: () => commits++ }, React.createElement(App))));
  void React.act(() => void (send as (m: { text: string }) => Promise<void>)({ text: 'Hi' }));
  while (controller === null) await React.act(() => new Promise((r) => setTimeout(r, 0)));
  await React.act(() => new Promise((r) => setTimeout(r, 0)));
  commits = 0;
  const c = controller as ReadableStreamDefaultController<unknown>;
  const perFrame = rate / FRAMES;
  let owed = 0;
  let sent = 0;
  const t0 = performance.now();
  for (let f = 0; f < FRAMES; f++) {
    owed += perFrame;
    await React.act(async () => {
      for (; owed >= 1; owed--) c.enqueue({ type: 'text-delta', id: 't', delta: `w${sent++} ` });
      // Let the stream's consumer catch up before the frame ends.
      await new Promise((r) => setTimeout(r, 0));
    });
  }
  const ms = performance.now() - t0;
  c.enqueue({ type: 'text-end', id: 't' });
  c.enqueue({ type: 'finish' });
  c.close();
  await React.act(() => new Promise((r) => setTimeout(r, 0)));
  await React.act(() => root.unmount());
  return { commits, ms, tokens: sent };
}

const pad = (s: string, n: number): string => s.padStart(n);
console.log('simulated 1 s per rate (60 frames), jsdom, same run\n');
console.log(`${pad('tokens/s', 9)} ${pad('ours commits/s', 15)} ${pad('useChat commits/s', 18)} ${pad('ours ms/1k tok', 15)} ${pad('useChat ms/1k tok', 18)} ${pad('commit ratio', 13)} ${pad('ms ratio', 9)}`);
for (const rate of RATES) {
  await runOurs(rate); // warm-up
  await runUseChat(rate);
  const ours = await runOurs(rate);
  const theirs = await runUseChat(rate);
  const perK = (r: Result): number => (r.ms / r.tokens) * 1000;
  console.log(
    `${pad(String(rate), 9)} ${pad(String(ours.commits), 15)} ${pad(String(theirs.commits), 18)} ${pad(perK(ours).toFixed(1), 15)} ${pad(perK(theirs).toFixed(1), 18)} ${pad((ours.commits / theirs.commits).toFixed(2) + 'x', 13)} ${pad((perK(ours) / perK(theirs)).toFixed(2) + 'x', 9)}`,
  );
}
console.log('\ntarget: ours <= 60 commits/s at every rate');
process.exit(0);
