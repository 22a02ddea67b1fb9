/**
 * The environment the client runs in, resolved from options with defaults.
 * Everything time-, network- or platform-dependent goes through here so tests can
 * inject it. Defaults read globals at call time, not at import or construction
 * time: `vi.useFakeTimers()` and msw patch globals after modules are loaded.
 */
import WebSocketFallback from 'isomorphic-ws';
import { defaultStorage } from './storage.js';
import type {
  KeyValueStorage,
  LifecycleSource,
  ModelRiverClientOptions,
  Timers,
  WebSocketConstructor,
} from './types.js';

/** The resolved environment of a client. */
export interface ClientEnv {
  /** Picks the WebSocket constructor; call it at connect time. */
  resolveWebSocket: () => WebSocketConstructor;
  timers: Timers;
  now: () => number;
  random: () => number;
  /** Null when persistence is off. */
  storage: KeyValueStorage | null;
  lifecycle: LifecycleSource;
  /** Null when no fetch is available; `reconnectWithBackend()` then reports false. */
  fetch: typeof fetch | null;
  queueMicrotask: (fn: () => void) => void;
  requestAnimationFrame: ((fn: () => void) => unknown) | undefined;
  cancelAnimationFrame: ((handle: unknown) => void) | undefined;
}

/** Global timers, looked up on every call so fake timers installed later are honoured. */
export const globalTimers: Timers = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/**
 * The WebSocket constructor to use now: the option, else `globalThis.WebSocket`
 * (browsers, Deno, Node 22+, or one msw installed), else isomorphic-ws (`ws` on Node).
 *
 * @example
 * ```ts
 * const WS = resolveWebSocket(undefined); // the platform's WebSocket
 * ```
 */
export function resolveWebSocket(option: WebSocketConstructor | undefined): WebSocketConstructor {
  if (option !== undefined) return option;
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global === 'function') return global as unknown as WebSocketConstructor;
  return WebSocketFallback as unknown as WebSocketConstructor;
}

/**
 * Wakes the client when the browser comes back online or the page becomes
 * visible; a no-op outside browsers.
 *
 * @example
 * ```ts
 * const stop = browserLifecycle((reason) => console.log('wake:', reason));
 * stop();
 * ```
 */
export const browserLifecycle: LifecycleSource = (onWake) => {
  const g = globalThis as {
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
    document?: {
      visibilityState?: string;
      addEventListener?: (type: string, fn: () => void) => void;
      removeEventListener?: (type: string, fn: () => void) => void;
    };
  };
  const onOnline = (): void => onWake('online');
  const onVisibility = (): void => {
    if (g.document?.visibilityState === 'visible') onWake('visible');
  };
  const hasWindow = typeof g.addEventListener === 'function' && typeof g.removeEventListener === 'function';
  const doc = g.document;
  const hasDocument = doc !== undefined && typeof doc.addEventListener === 'function' && typeof doc.removeEventListener === 'function';
  if (hasWindow) g.addEventListener?.('online', onOnline);
  if (hasDocument) doc?.addEventListener?.('visibilitychange', onVisibility);
  return () => {
    if (hasWindow) g.removeEventListener?.('online', onOnline);
    if (hasDocument) doc?.removeEventListener?.('visibilitychange', onVisibility);
  };
};

/**
 * Resolves the client's environment from its options.
 *
 * @example
 * ```ts
 * const env = resolveEnv({ WebSocket: WS, persist: false });
 * const socket = new (env.resolveWebSocket())('ws://127.0.0.1:4000/socket/websocket?token=t&vsn=2.0.0');
 * ```
 */
export function resolveEnv(options: ModelRiverClientOptions): ClientEnv {
  const g = globalThis as {
    queueMicrotask?: (fn: () => void) => void;
    requestAnimationFrame?: (fn: () => void) => unknown;
    cancelAnimationFrame?: (handle: unknown) => void;
    fetch?: typeof fetch;
  };
  const persist = options.persist ?? true;
  const fetchOption = options.fetch;
  return {
    resolveWebSocket: () => resolveWebSocket(options.WebSocket),
    timers: options.timers ?? globalTimers,
    now: options.now ?? (() => Date.now()),
    random: options.random ?? (() => Math.random()),
    storage: persist ? (options.storage ?? defaultStorage()) : null,
    lifecycle: options.lifecycle ?? browserLifecycle,
    fetch:
      fetchOption !== undefined
        ? fetchOption
        : typeof g.fetch === 'function'
          ? ((input, init) => (globalThis.fetch as typeof fetch)(input, init)) as typeof fetch
          : null,
    queueMicrotask:
      typeof g.queueMicrotask === 'function'
        ? (fn) => globalThis.queueMicrotask(fn)
        : (fn) => {
            void Promise.resolve().then(fn);
          },
    requestAnimationFrame:
      typeof g.requestAnimationFrame === 'function' ? (fn) => (globalThis as typeof g).requestAnimationFrame?.(fn) : undefined,
    cancelAnimationFrame:
      typeof g.cancelAnimationFrame === 'function' ? (handle) => (globalThis as typeof g).cancelAnimationFrame?.(handle) : undefined,
  };
}
