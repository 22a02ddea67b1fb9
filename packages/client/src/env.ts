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
  _resolveWebSocket: () => WebSocketConstructor;
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

/** Globals the environment may lack, read at call time. */
type Globals = {
  WebSocket?: unknown;
  fetch?: typeof fetch;
  queueMicrotask?: (fn: () => void) => void;
  requestAnimationFrame?: (fn: () => void) => unknown;
  cancelAnimationFrame?: (handle: unknown) => void;
  addEventListener?: (type: string, fn: () => void) => void;
  removeEventListener?: (type: string, fn: () => void) => void;
  document?: {
    visibilityState?: string;
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
  };
};

const g = globalThis as Globals;

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
  return option ?? (typeof g.WebSocket === 'function' ? g.WebSocket : WebSocketFallback) as unknown as WebSocketConstructor;
}

/**
 * Wakes the client when the browser comes back online or the page becomes
 * visible, and tells it when the page is hidden or unloading (`pagehide`); a
 * no-op outside browsers.
 *
 * @example
 * ```ts
 * const stop = browserLifecycle((reason) => console.log('wake:', reason));
 * stop();
 * ```
 */
export const browserLifecycle: LifecycleSource = (onWake) => {
  const onOnline = (): void => onWake('online');
  const onVisibility = (): void => onWake(g.document?.visibilityState === 'visible' ? 'visible' : 'hidden');
  const onPageHide = (): void => onWake('hidden');
  // [target, event, listener] for each target that can be listened to.
  const subscriptions = [
    [g, 'online', onOnline],
    [g.document, 'visibilitychange', onVisibility],
    [g, 'pagehide', onPageHide],
  ].filter(([target]) => typeof (target as Globals | undefined)?.addEventListener === 'function' && typeof (target as Globals).removeEventListener === 'function') as Array<
    [Globals, string, () => void]
  >;
  for (const [target, type, fn] of subscriptions) target.addEventListener?.(type, fn);
  return () => {
    for (const [target, type, fn] of subscriptions) target.removeEventListener?.(type, fn);
  };
};

/**
 * Resolves the client's environment from its options.
 *
 * @example
 * ```ts
 * const env = resolveEnv({ WebSocket: WS, persist: false });
 * const socket = new (env._resolveWebSocket())('ws://127.0.0.1:4000/socket/websocket?token=t&vsn=2.0.0');
 * ```
 */
export function resolveEnv(options: ModelRiverClientOptions): ClientEnv {
  return {
    _resolveWebSocket: () => resolveWebSocket(options.WebSocket),
    timers: options.timers ?? globalTimers,
    now: options.now ?? (() => Date.now()),
    random: options.random ?? (() => Math.random()),
    storage: options.persist ?? true ? (options.storage ?? defaultStorage()) : null,
    lifecycle: options.lifecycle ?? browserLifecycle,
    fetch: options.fetch ?? (typeof g.fetch === 'function' ? (input, init) => (g.fetch as typeof fetch)(input, init) : null),
    queueMicrotask: typeof g.queueMicrotask === 'function' ? (fn) => (g.queueMicrotask as (fn: () => void) => void)(fn) : (fn) => void Promise.resolve().then(fn),
    requestAnimationFrame: typeof g.requestAnimationFrame === 'function' ? (fn) => g.requestAnimationFrame?.(fn) : undefined,
    cancelAnimationFrame: typeof g.cancelAnimationFrame === 'function' ? (handle) => g.cancelAnimationFrame?.(handle) : undefined,
  };
}
