import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Frame } from './protocol.js';
import { HEARTBEAT_TIMEOUT_CLOSE_CODE, Socket, socketUrl } from './socket.js';
import type { LinkClose, LinkTransition, SocketHandlers } from './socket.js';
import type { ProtocolErrorInfo, Timers, WebSocketLike } from './types.js';

/** A scripted WebSocket: the test opens it, feeds it messages and closes it. */
class ScriptedWebSocket implements WebSocketLike {
  static instances: ScriptedWebSocket[] = [];
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  sent: string[] = [];
  closedWith: { code?: number; reason?: string } | null = null;
  constructor(readonly url: string) {
    ScriptedWebSocket.instances.push(this);
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  message(data: unknown): void {
    this.onmessage?.({ data });
  }
  serverClose(code: number, wasClean: boolean, reason = ''): void {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean });
  }
  frames(): Frame[] {
    return this.sent.map((s) => JSON.parse(s) as Frame);
  }
}

const timers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function setup(handlers: Partial<SocketHandlers> = {}, heartbeatIntervalMs = 1_000) {
  const events = {
    opened: 0,
    closes: [] as LinkClose[],
    frames: [] as Frame[],
    protocolErrors: [] as ProtocolErrorInfo[],
    transitions: [] as LinkTransition[],
  };
  const socket = new Socket({
    _url: 'ws://127.0.0.1:9/socket',
    _token: 'tok/en+1',
    WebSocket: ScriptedWebSocket,
    timers,
    _heartbeatIntervalMs: heartbeatIntervalMs,
    maxFrameBytes: 1_000,
    _handlers: {
      _onOpen: () => events.opened++,
      _onClose: (i) => events.closes.push(i),
      _onFrame: (f) => events.frames.push(f),
      _onProtocolError: (i) => events.protocolErrors.push(i),
      _onStateChange: (t) => events.transitions.push(t),
      ...handlers,
    },
  });
  socket.connect();
  const ws = ScriptedWebSocket.instances.at(-1) as ScriptedWebSocket;
  return { socket, ws, events };
}

beforeEach(() => {
  ScriptedWebSocket.instances = [];
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('socketUrl', () => {
  it('appends /websocket, the token and vsn to a /socket URL', () => {
    expect(socketUrl('ws://127.0.0.1:4000/socket', 'a b&c')).toBe('ws://127.0.0.1:4000/socket/websocket?token=a%20b%26c&vsn=2.0.0');
  });
  it('keeps /websocket, strips trailing slashes, keeps an existing query', () => {
    expect(socketUrl('wss://h/socket/websocket', 't')).toBe('wss://h/socket/websocket?token=t&vsn=2.0.0');
    expect(socketUrl('wss://h/socket/', 't')).toBe('wss://h/socket/websocket?token=t&vsn=2.0.0');
    expect(socketUrl('wss://h/socket?region=eu', 't')).toBe('wss://h/socket/websocket?region=eu&token=t&vsn=2.0.0');
  });
  it('adds /socket/websocket to a bare host, as the hosted SDK did', () => {
    expect(socketUrl('wss://api.modelriver.com', 't')).toBe('wss://api.modelriver.com/socket/websocket?token=t&vsn=2.0.0');
  });
});

describe('Socket', () => {
  it('connects to the built URL and reports connecting then open', () => {
    const { ws, events, socket } = setup();
    expect(ws.url).toBe('ws://127.0.0.1:9/socket/websocket?token=tok%2Fen%2B1&vsn=2.0.0');
    expect(socket._isOpen).toBe(false);
    ws.open();
    expect(socket._isOpen).toBe(true);
    expect(events.opened).toBe(1);
    expect(events.transitions.map((t) => `${t.previous}>${t.current}:${t.reason}`)).toEqual(['idle>connecting:connect', 'connecting>open:open']);
  });

  it('hands channel frames over and refs are unique', () => {
    const { ws, events, socket } = setup();
    ws.open();
    ws.message('["1",null,"ai_response:p:c","tokens",{"seq":1,"delta":"x"}]');
    expect(events.frames).toEqual([['1', null, 'ai_response:p:c', 'tokens', { seq: 1, delta: 'x' }]]);
    const refs = new Set([socket._makeRef(), socket._makeRef(), socket._makeRef()]);
    expect(refs.size).toBe(3);
  });

  it('reports undecodable frames as protocol errors and stays open', () => {
    const { ws, events, socket } = setup();
    ws.open();
    ws.message('not json');
    ws.message('x'.repeat(2_000));
    expect(events.protocolErrors.map((e) => e.code)).toEqual(['malformed_frame', 'frame_too_large']);
    expect(socket._isOpen).toBe(true);
    expect(ws.closedWith).toBeNull();
  });

  it('does not send before open', () => {
    const { socket, ws } = setup();
    expect(socket.send([null, '1', 't', 'e', {}])).toBe(false);
    expect(ws.sent).toEqual([]);
  });

  it('sends a heartbeat on the phoenix topic every interval while replies come', () => {
    const { ws, events } = setup({}, 1_000);
    ws.open();
    vi.advanceTimersByTime(999);
    expect(ws.sent).toHaveLength(0);
    vi.advanceTimersByTime(1);
    const [hb] = ws.frames();
    expect(hb).toEqual([null, expect.any(String), 'phoenix', 'heartbeat', {}]);
    ws.message(JSON.stringify([null, hb?.[1], 'phoenix', 'phx_reply', { status: 'ok', response: {} }]));
    vi.advanceTimersByTime(1_000);
    expect(ws.frames()).toHaveLength(2);
    const second = ws.frames()[1];
    ws.message(JSON.stringify([null, second?.[1], 'phoenix', 'phx_reply', { status: 'ok', response: {} }]));
    vi.advanceTimersByTime(1_000);
    expect(ws.frames()).toHaveLength(3);
    expect(events.closes).toEqual([]);
    // Heartbeat replies are not channel frames.
    expect(events.frames).toEqual([]);
  });

  it('closes with 4000 and reports an unclean heartbeat_timeout when a reply is missing at the next beat', () => {
    const { ws, events, socket } = setup({}, 1_000);
    ws.open();
    vi.advanceTimersByTime(1_000); // heartbeat sent
    const sentBefore = ws.sent.length;
    // A reply with another ref does not count.
    ws.message(JSON.stringify([null, 'nope', 'phoenix', 'phx_reply', { status: 'ok', response: {} }]));
    vi.advanceTimersByTime(1_000); // next due: none answered
    expect(ws.closedWith).toEqual({ code: HEARTBEAT_TIMEOUT_CLOSE_CODE, reason: 'heartbeat timeout' });
    expect(ws.sent.length).toBe(sentBefore);
    expect(events.closes).toEqual([
      { code: 4000, reason: 'heartbeat timeout', clean: false, opened: true, cause: 'heartbeat_timeout', _httpStatus: null },
    ]);
    expect(socket.state).toBe('closed');
    // The dead socket's late events reach nobody.
    ws.message('["1",null,"t","tokens",{}]');
    ws.serverClose(1006, false);
    expect(events.frames).toEqual([]);
    expect(events.closes).toHaveLength(1);
  });

  it('reports a close before open as refused, with the HTTP status when ws tells it', () => {
    const { ws, events } = setup();
    ws.onerror?.({ message: 'Unexpected server response: 403' });
    ws.serverClose(1006, false);
    expect(events.closes).toEqual([{ code: 1006, reason: '', clean: false, opened: false, cause: 'refused', _httpStatus: 403 }]);
  });

  it('tells a lost link from a server close', () => {
    const a = setup();
    a.ws.open();
    a.ws.serverClose(1006, false);
    expect(a.events.closes[0]).toMatchObject({ cause: 'lost', clean: false, opened: true });
    const b = setup();
    b.ws.open();
    b.ws.serverClose(1000, true, 'bye');
    expect(b.events.closes[0]).toMatchObject({ cause: 'closed_by_server', clean: true, code: 1000, reason: 'bye' });
  });

  it('a client close closes cleanly, stops heartbeats and reports no onClose', () => {
    const { ws, events, socket } = setup();
    ws.open();
    socket.close();
    expect(ws.closedWith).toEqual({ code: 1000, reason: 'client closed' });
    vi.advanceTimersByTime(10_000);
    expect(ws.sent).toEqual([]);
    expect(events.closes).toEqual([]);
    expect(events.transitions.at(-1)).toMatchObject({ current: 'closed', reason: 'closed_by_client' });
  });

  it('never lets a throwing handler escape', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { ws } = setup({
      _onOpen: () => {
        throw new Error('boom');
      },
      _onFrame: () => {
        throw new Error('boom');
      },
    });
    expect(() => ws.open()).not.toThrow();
    expect(() => ws.message('[null,null,"t","e",{}]')).not.toThrow();
    expect(spy).toHaveBeenCalledTimes(2);
    spy.mockRestore();
  });

  it('turns a constructor failure into invalid_options', () => {
    const Throwing = class {
      constructor() {
        throw new SyntaxError('Invalid URL');
      }
    } as unknown as typeof ScriptedWebSocket;
    const socket = new Socket({ _url: 'nope', _token: 't', WebSocket: Throwing, timers, maxFrameBytes: 10, _handlers: {} });
    expect(() => socket.connect()).toThrowError(expect.objectContaining({ code: 'invalid_options' }));
  });
});
