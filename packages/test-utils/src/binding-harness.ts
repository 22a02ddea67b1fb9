/**
 * `@modelriver/test-utils/bindings`: the set-up every framework binding's tests share (React,
 * Vue, Svelte, Angular): a FakeGateway on 127.0.0.1 (port 0) closed after each test, client
 * options wired to it with `ws`, memory storage, a frame clock the test advances, storage and
 * timers that record what they are asked. A subpath of its own because it registers a vitest
 * hook: the benchmarks import the fake gateway without vitest.
 */
import { afterEach, vi } from 'vitest';
import WebSocket from 'ws';
// By path, like the rest of this package: depending on @modelriver/client would make a cycle.
import { createMemoryStorage } from '../../client/src/storage.js';
import type { KeyValueStorage, ModelRiverClientOptions } from '../../client/src/types.js';
import { FakeGateway } from './fake-gateway.js';
import type { FakeChannel } from './fake-channel.js';

const gateways: FakeGateway[] = [];

afterEach(async () => {
  vi.unstubAllGlobals();
  await Promise.all(gateways.splice(0).map((gw) => gw.close()));
});

/** A fake gateway on port 0, closed after the test. */
export async function startGateway(): Promise<FakeGateway> {
  const gw = await FakeGateway.start();
  gateways.push(gw);
  return gw;
}

/**
 * Client options for tests: `ws`, no page lifecycle, fast retries, memory storage unless given.
 * `T`: a binding's options, which extend the client's.
 */
export function clientOptions<T extends ModelRiverClientOptions>(extra: T = {} as T): T {
  return {
    WebSocket,
    lifecycle: () => () => undefined,
    reconnect: { initialDelayMs: 5, maxDelayMs: 20, minUptimeMs: 1_000 },
    storage: createMemoryStorage(),
    ...extra,
  };
}

/** The async ack exactly as the backend returns it (snake_case). */
export function snakeAck(gw: FakeGateway, ch: FakeChannel): { channel_id: string; ws_token: string; websocket_url: string; websocket_channel: string } {
  return { channel_id: ch.channelId, ws_token: ch.wsToken, websocket_url: gw.url, websocket_channel: ch.topic };
}

/**
 * `requestAnimationFrame` under the test's control (installed before a client is created, which
 * is when the client picks it up): frames run only when `frame()` is called.
 */
export function manualFrames(): { frame: () => void; pending: () => number } {
  let queue: Array<() => void> = [];
  vi.stubGlobal('requestAnimationFrame', (fn: () => void) => {
    queue.push(fn);
    return queue.length;
  });
  vi.stubGlobal('cancelAnimationFrame', () => undefined);
  return {
    frame: () => {
      const run = queue;
      queue = [];
      for (const fn of run) fn();
    },
    pending: () => queue.length,
  };
}

/** Frames that run on the next macrotask: the default behaviour, without a 16 ms wait. */
export function autoFrames(): void {
  vi.stubGlobal('requestAnimationFrame', (fn: () => void) => setTimeout(fn, 0));
  vi.stubGlobal('cancelAnimationFrame', (h: ReturnType<typeof setTimeout>) => clearTimeout(h));
}

/** Storage that records every access (server rendering must not touch it). */
export function spyStorage(inner: KeyValueStorage = createMemoryStorage()): KeyValueStorage & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    getItem: (k) => (calls.push(`get ${k}`), inner.getItem(k)),
    setItem: (k, v) => (calls.push(`set ${k}`), inner.setItem(k, v)),
    removeItem: (k) => (calls.push(`remove ${k}`), inner.removeItem(k)),
  };
}

/** Real timers that record what is scheduled, so a test can prove none outlives its owner. */
export class RecordingTimers {
  readonly #pending = new Set<ReturnType<typeof setTimeout>>();
  setTimeout = (fn: () => void, ms: number): unknown => {
    const handle = setTimeout(() => {
      this.#pending.delete(handle);
      fn();
    }, ms);
    this.#pending.add(handle);
    return handle;
  };
  clearTimeout = (handle: unknown): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
    this.#pending.delete(handle as ReturnType<typeof setTimeout>);
  };
  get pending(): number {
    return this.#pending.size;
  }
}
