import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReconnectLoop } from './reconnect-loop.js';
import type { LinkEvents } from './reconnect-loop.js';
import { ScriptedWebSocket, scriptedSetup } from './scripted-websocket.test-helper.js';
import type { ModelRiverClientOptions } from './types.js';

/** A LinkEvents that records what the loop reports. */
function recorder() {
  const log: string[] = [];
  const events: LinkEvents & { over: boolean } = {
    _channelId: 'c1',
    over: false,
    _isOver: () => events.over,
    _linking: (reconnecting, info) => void log.push(`linking ${reconnecting ? 'again' : 'first'} ${info === null ? 'fetching' : `${info.via}#${info.attempt}`}`),
    _opened: () => void log.push('opened'),
    _frame: () => void log.push('frame'),
    _protocolError: (info) => void log.push(`protocol_error ${info.code}`),
    _down: () => void log.push('down'),
    _keep: (now) => void log.push(`keep ${now}`),
    _waiting: (reason, stopped) => void log.push(`${stopped ? 'stopped' : 'waiting'} ${reason}`),
    _fail: (code, _message, permanent) => {
      events.over = true;
      log.push(`fail ${code}${permanent ? ' permanent' : ''}`);
    },
  };
  return { events, log };
}

function start(options: ModelRiverClientOptions = {}, token: string | null = 'ws-1') {
  const config = scriptedSetup({ reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 3 }, ...options });
  const { events, log } = recorder();
  const loop = new ReconnectLoop(config, events, token === null ? null : { _value: token, _via: 'ws_token' }, undefined);
  loop._open();
  return { loop, events, log };
}

describe('ReconnectLoop', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('opens a link with its token and spends the token when the link opens', () => {
    const { loop, log } = start();
    const socket = ScriptedWebSocket.last();
    expect(socket.token()).toBe('ws-1');
    expect(loop._hasLink()).toBe(true);
    socket.open();
    expect(log).toEqual(['linking first ws_token#0', 'opened']);
    expect(loop._token).toBeNull();
  });

  it('after a drop waits out the backoff, then opens the next link with the token it was given', async () => {
    const { loop, log } = start();
    ScriptedWebSocket.last().open();
    loop._useToken({ _value: 'resume-1', _via: 'resume_token' });
    ScriptedWebSocket.last().drop();
    expect(log.slice(2)).toEqual(['down', 'waiting lost']);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    // random() is 1: the first retry waits the whole initial delay.
    await vi.advanceTimersByTimeAsync(99);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(ScriptedWebSocket.instances).toHaveLength(2);
    expect(ScriptedWebSocket.last().token()).toBe('resume-1');
    expect(log.at(-1)).toBe('linking again resume_token#1');
  });

  it('gives up after maxAttempts failed links in a row', async () => {
    const { log } = start();
    for (let i = 0; i < 3; i++) {
      ScriptedWebSocket.last().drop();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(ScriptedWebSocket.instances).toHaveLength(4);
    ScriptedWebSocket.last().drop();
    expect(log.at(-1)).toBe('fail connection_failed');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ScriptedWebSocket.instances).toHaveLength(4);
  });

  it('with reconnect: false stops after a drop and opens again only on _retryNow', async () => {
    const { loop, log } = start({ reconnect: false });
    ScriptedWebSocket.last().open();
    ScriptedWebSocket.last().drop();
    expect(log.at(-1)).toBe('stopped lost');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    loop._retryNow({ _value: 'ws-2', _via: 'ws_token' }, 'ws://127.0.0.1:10/socket');
    expect(ScriptedWebSocket.last().token()).toBe('ws-2');
    expect(ScriptedWebSocket.last().url).toContain('127.0.0.1:10');
    expect(loop._url).toBe('ws://127.0.0.1:10/socket');
  });

  it('_close cancels a waiting retry and closes the link', async () => {
    const { loop } = start();
    ScriptedWebSocket.last().drop();
    loop._close('client disconnect');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
    expect(loop._hasLink()).toBe(false);
  });

  it('without a token fetches one from getToken, tells the owner to keep it, then opens with it', async () => {
    const getToken = vi.fn(async () => 'fresh');
    const { log } = start({ getToken }, null);
    expect(log).toEqual(['linking first fetching']);
    await vi.advanceTimersByTimeAsync(0);
    expect(getToken).toHaveBeenCalledWith('c1');
    expect(log.slice(1)).toEqual(['keep true', 'linking first get_token#0']);
    expect(ScriptedWebSocket.last().token()).toBe('fresh');
  });

  it('does not open a link once the owner is over', async () => {
    const { events } = start();
    events.over = true;
    ScriptedWebSocket.last().drop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(ScriptedWebSocket.instances).toHaveLength(1);
  });
});
