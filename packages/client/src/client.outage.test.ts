import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConnectingInfo, WebSocketLike } from './index.js';
import { createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

/** A ws:// origin on 127.0.0.1 where nothing listens: connecting there is refused (ECONNREFUSED). */
async function deadOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `ws://127.0.0.1:${port}`;
}

/** Routes every socket to the dead origin while `down` is set: an outage of the gateway's host. */
function outage(gatewayUrl: string, dead: string): { down: boolean; target: (url: string) => string } {
  const origin = new URL(gatewayUrl).origin.replace(/^http/, 'ws');
  const o = { down: false, target: (url: string) => (o.down ? url.replace(origin, dead) : url) };
  return o;
}

/** Resolves once `count` links in a row failed before opening. */
function refusals(client: ReturnType<typeof createClient>, count: number): Promise<void> {
  let seen = 0;
  return nextEvent(client, 'disconnected', (reason) => reason === 'refused' && ++seen === count).then(() => undefined);
}

describe('an outage', () => {
  it('(Node, ws) keeps the unspent resume token for every retry: no backend call', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const net = outage(gw.url, await deadOrigin());
    class Flaky extends WebSocket {
      constructor(url: string) {
        super(net.target(url));
      }
    }
    const client = createClient({ WebSocket: Flaky, apiBaseUrl: gw.httpUrl });
    const vias: ConnectingInfo['via'][] = [];
    client.on('connecting', (i) => vias.push(i.via));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('before ');
    await waitForState(client, (s) => s.text === 'before ');
    net.down = true;
    const failed = refusals(client, 5);
    conn.drop();
    await failed;
    net.down = false;
    const rejoined = ch.waitForJoin();
    ch.tokens('after');
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('before after');
    expect(gw.httpRequests).toEqual([]);
    expect(vias.slice(1).every((via) => via === 'resume_token')).toBe(true);
    expect(gw.upgrades.map((u) => [u.kind, u.accepted])).toEqual([
      ['ws_token', true],
      ['resume_token', true],
    ]);
  });

  it('(browser: failures unexplained) asks the backend once and keeps its fresh token for the retries', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const net = outage(gw.url, await deadOrigin());
    // What a browser's WebSocket tells: an error event without a message, then close 1006.
    class BrowserLike implements WebSocketLike {
      readonly ws: WebSocket;
      onopen: WebSocketLike['onopen'] = null;
      onclose: WebSocketLike['onclose'] = null;
      onerror: WebSocketLike['onerror'] = null;
      onmessage: WebSocketLike['onmessage'] = null;
      constructor(url: string) {
        this.ws = new WebSocket(net.target(url));
        this.ws.onopen = () => this.onopen?.({ type: 'open' });
        this.ws.onerror = () => this.onerror?.({ type: 'error' });
        this.ws.onclose = (e) => this.onclose?.({ code: e.code, reason: e.reason, wasClean: e.wasClean });
        this.ws.onmessage = (e) => this.onmessage?.({ data: String(e.data) });
      }
      get readyState(): number {
        return this.ws.readyState;
      }
      send(data: string): void {
        this.ws.send(data);
      }
      close(code?: number, reason?: string): void {
        this.ws.close(code, reason);
      }
    }
    // The client's clock stands still: the fresh token's minute never runs out during the test.
    const client = createClient({ WebSocket: BrowserLike, apiBaseUrl: gw.httpUrl, now: () => 1_000_000 });
    const vias: ConnectingInfo['via'][] = [];
    client.on('connecting', (i) => vias.push(i.via));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    net.down = true;
    const failed = refusals(client, 5);
    conn.drop();
    await failed;
    net.down = false;
    const rejoined = ch.waitForJoin();
    await rejoined;
    // The old resume token is given up after one unexplained failure (a browser cannot tell a
    // refusal), the backend is asked once, and its token is presented until the outage ends.
    expect(gw.httpRequests).toHaveLength(1);
    expect(vias.slice(0, 3)).toEqual(['ws_token', 'resume_token', 'backend']);
    expect(vias.slice(3).every((via) => via === 'backend')).toBe(true);
    expect(gw.upgrades.at(-1)).toMatchObject({ kind: 'ws_token', accepted: true });
  });
});
