/**
 * Test-only: a scripted WebSocket (the test opens it, feeds it frames and closes it) and an
 * environment built around it, for the unit tests of the reconnect loop and the session. Real
 * sockets are the client.*.test.ts suites' business; these tests look at one class at a time.
 */
import { resolveOptions } from './client-options.js';
import { resolveEnv } from './env.js';
import type { ClientEnv } from './env.js';
import type { Frame } from './protocol.js';
import type { ModelRiverClientOptions, WebSocketLike } from './types.js';

export class ScriptedWebSocket implements WebSocketLike {
  static instances: ScriptedWebSocket[] = [];
  readyState = 0;
  onopen: WebSocketLike['onopen'] = null;
  onclose: WebSocketLike['onclose'] = null;
  onerror: WebSocketLike['onerror'] = null;
  onmessage: WebSocketLike['onmessage'] = null;
  sent: string[] = [];
  constructor(readonly url: string) {
    ScriptedWebSocket.instances.push(this);
  }
  static last(): ScriptedWebSocket {
    const socket = ScriptedWebSocket.instances.at(-1);
    if (socket === undefined) throw new Error('no WebSocket was created');
    return socket;
  }
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: Frame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** The server (or the network) ends the link; before `open()` this is a refused upgrade. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '', wasClean: false });
  }
  frames(): Frame[] {
    return this.sent.map((s) => JSON.parse(s) as Frame);
  }
  /** The token in the connect URL. */
  token(): string | null {
    return new URL(this.url).searchParams.get('token');
  }
}

/** Options, environment and resolved options for the scripted socket (global timers: fake them in the test). */
export function scriptedSetup(options: ModelRiverClientOptions = {}): {
  _o: ModelRiverClientOptions;
  _env: ClientEnv;
  _cfg: ReturnType<typeof resolveOptions>;
  _log: () => void;
} {
  ScriptedWebSocket.instances = [];
  const o: ModelRiverClientOptions = {
    baseUrl: 'ws://127.0.0.1:9/socket',
    WebSocket: ScriptedWebSocket,
    persist: false,
    random: () => 1,
    lifecycle: () => () => undefined,
    ...options,
  };
  return { _o: o, _env: resolveEnv(o), _cfg: resolveOptions(o), _log: () => undefined };
}
