import { afterEach, describe, expect, it, vi } from 'vitest';
import WS from 'ws';
import { ModelRiverClient } from './index.js';
import { browserLifecycle, resolveEnv, resolveWebSocket } from './env.js';
import type { WebSocketLike } from './types.js';

class StubWebSocket implements WebSocketLike {
  static urls: string[] = [];
  readyState = 0;
  onopen = null;
  onclose = null;
  onerror = null;
  onmessage = null;
  constructor(url: string) {
    StubWebSocket.urls.push(url);
  }
  send(): void {}
  close(): void {}
}

afterEach(() => {
  vi.unstubAllGlobals();
  StubWebSocket.urls = [];
});

describe('resolveWebSocket', () => {
  it('prefers the option, then globalThis.WebSocket, then isomorphic-ws (ws on Node)', () => {
    expect(resolveWebSocket(StubWebSocket)).toBe(StubWebSocket);
    vi.stubGlobal('WebSocket', undefined);
    expect(resolveWebSocket(undefined)).toBe(WS);
    vi.stubGlobal('WebSocket', StubWebSocket);
    expect(resolveWebSocket(undefined)).toBe(StubWebSocket);
  });

  it('is resolved at connect time, so a global installed after construction is used', () => {
    vi.stubGlobal('WebSocket', undefined);
    const client = new ModelRiverClient({ persist: false, lifecycle: () => () => undefined });
    vi.stubGlobal('WebSocket', StubWebSocket);
    client.connect({ channelId: 'c', wsToken: 't', websocketUrl: 'ws://127.0.0.1:1/socket' });
    expect(StubWebSocket.urls).toEqual(['ws://127.0.0.1:1/socket/websocket?token=t&vsn=2.0.0']);
    client.destroy();
  });
});

describe('resolveEnv', () => {
  it('has no storage when persist is false, and reads timers from globals at call time', () => {
    const env = resolveEnv({ persist: false });
    expect(env.storage).toBeNull();
    vi.useFakeTimers();
    try {
      let fired = false;
      env.timers.setTimeout(() => (fired = true), 1_000);
      vi.advanceTimersByTime(1_000);
      expect(fired).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('uses the injected clock, random and fetch', () => {
    const fetch = vi.fn() as unknown as typeof globalThis.fetch;
    const env = resolveEnv({ now: () => 5, random: () => 0.25, fetch });
    expect(env.now()).toBe(5);
    expect(env.random()).toBe(0.25);
    expect(env.fetch).toBe(fetch);
  });
});

describe('browserLifecycle', () => {
  it('is a no-op without window/document', () => {
    const wake = vi.fn();
    const stop = browserLifecycle(wake);
    expect(() => stop()).not.toThrow();
    expect(wake).not.toHaveBeenCalled();
  });

  it("wakes on 'online' and on visibility, says 'hidden' when hidden or on 'pagehide', until stopped", () => {
    const win = new EventTarget();
    const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' });
    vi.stubGlobal('addEventListener', win.addEventListener.bind(win));
    vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win));
    vi.stubGlobal('document', doc);
    const wake = vi.fn();
    const stop = browserLifecycle(wake);
    win.dispatchEvent(new Event('online'));
    doc.dispatchEvent(new Event('visibilitychange')); // still hidden
    doc.visibilityState = 'visible';
    doc.dispatchEvent(new Event('visibilitychange'));
    win.dispatchEvent(new Event('pagehide'));
    expect(wake.mock.calls).toEqual([['online'], ['hidden'], ['visible'], ['hidden']]);
    stop();
    win.dispatchEvent(new Event('online'));
    win.dispatchEvent(new Event('pagehide'));
    expect(wake).toHaveBeenCalledTimes(4);
  });
});
