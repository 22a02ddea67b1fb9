/**
 * Shared set-up of the client's integration tests: a FakeGateway on 127.0.0.1,
 * clients wired to it with `ws`, and helpers that await events instead of sleeping.
 */
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { FakeGateway } from '@modelriver/test-utils';
import type { FakeChannel, FakeConnection, FakeGatewayOptions } from '@modelriver/test-utils';
import { ModelRiverClient } from '../src/index.js';
import type { ModelRiverClientOptions, ModelRiverEventMap, ModelRiverEventType, StreamState } from '../src/index.js';

const gateways: FakeGateway[] = [];
const clients: ModelRiverClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await Promise.all(gateways.splice(0).map((gw) => gw.close()));
});

/** A fake gateway closed after the test. */
export async function startGateway(options?: FakeGatewayOptions): Promise<FakeGateway> {
  const gw = await FakeGateway.start(options);
  gateways.push(gw);
  return gw;
}

/** Fast retries so tests do not wait out production backoff. */
export const FAST_RECONNECT = { initialDelayMs: 5, maxDelayMs: 20, minUptimeMs: 1_000 };

/** A client using `ws`, no persistence and fast retries unless overridden; destroyed after the test. */
export function createClient(options: ModelRiverClientOptions = {}): ModelRiverClient {
  const client = new ModelRiverClient({
    WebSocket,
    persist: false,
    reconnect: FAST_RECONNECT,
    lifecycle: () => () => undefined,
    ...options,
  });
  clients.push(client);
  return client;
}

/** What {@link startJoined} set up. */
export interface Joined {
  gw: FakeGateway;
  ch: FakeChannel;
  client: ModelRiverClient;
  /** The connection the first join arrived on. */
  conn: FakeConnection;
}

/**
 * A gateway, one channel and a client (see {@link createClient}) already joined to
 * it, for tests that do not look at the connect itself. `before` runs after the
 * client is created and before `connect()`, to add listeners that must see the
 * first link.
 */
export async function startJoined(
  options: ModelRiverClientOptions = {},
  before?: (client: ModelRiverClient, ch: FakeChannel) => void,
): Promise<Joined> {
  const gw = await startGateway();
  const ch = gw.createChannel();
  const client = createClient(options);
  before?.(client, ch);
  const joined = ch.waitForJoin();
  client.connect(gw.connectOptions(ch));
  const conn = await joined;
  return { gw, ch, client, conn };
}

/** Resolves with the arguments of the next `event` matching `predicate`. */
export function nextEvent<K extends ModelRiverEventType>(
  client: ModelRiverClient,
  event: K,
  predicate: (...args: Parameters<ModelRiverEventMap[K]>) => boolean = () => true,
  timeoutMs = 5_000,
): Promise<Parameters<ModelRiverEventMap[K]>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for "${event}"`));
    }, timeoutMs);
    const listener = ((...args: Parameters<ModelRiverEventMap[K]>) => {
      if (!predicate(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    }) as unknown as ModelRiverEventMap[K];
    const off = client.on(event, listener);
  });
}

/** Resolves with the first state (current or later) matching `predicate`. */
export function waitForState(
  client: ModelRiverClient,
  predicate: (state: StreamState) => boolean,
  timeoutMs = 5_000,
): Promise<StreamState> {
  if (predicate(client.getState())) return Promise.resolve(client.getState());
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      const s = client.getState();
      reject(new Error(`timed out waiting for state; now status=${s.status} connection=${s.connectionState} lastSeq=${s.lastSeq} error=${s.errorCode}`));
    }, timeoutMs);
    const unsubscribe = client.subscribe((state) => {
      if (!predicate(state)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(state);
    });
  });
}

/** Waits until the request reached a terminal status. */
export function waitForEnd(client: ModelRiverClient, timeoutMs = 10_000): Promise<StreamState> {
  return waitForState(client, (s) => ['success', 'completed', 'error', 'cancelled'].includes(s.status), timeoutMs);
}

/** A deterministic PRNG (mulberry32) for seeded randomised tests. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Yields to the event loop once (lets socket I/O happen) without sleeping a fixed time. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Real timers that record what the client schedules, so a test can prove nothing is pending. */
export class RecordingTimers {
  readonly delays: number[] = [];
  readonly #pending = new Set<ReturnType<typeof setTimeout>>();
  setTimeout = (fn: () => void, ms: number): unknown => {
    this.delays.push(ms);
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
  /** Timers scheduled and neither fired nor cleared. */
  get pending(): number {
    return this.#pending.size;
  }
}

/** A lifecycle source the test triggers by hand. */
export function manualLifecycle(): { source: (onWake: (reason: 'online' | 'visible') => void) => () => void; wake: (reason: 'online' | 'visible') => void; subscribed: () => boolean } {
  let listener: ((reason: 'online' | 'visible') => void) | null = null;
  return {
    source: (onWake) => {
      listener = onWake;
      return () => {
        listener = null;
      };
    },
    wake: (reason) => listener?.(reason),
    subscribed: () => listener !== null,
  };
}
