import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from './index.js';
import type { KeyValueStorage } from './index.js';
import { createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

const KEY = 'modelriver_active_request';

function stored(storage: KeyValueStorage): Record<string, unknown> | null {
  const raw = storage.getItem(KEY);
  return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
}

describe('persistence', () => {
  it('a reload shows the text so far at once and resumes to the full text', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    // The first page: it streams a while, then the page "dies" (its link goes and it never comes back).
    const page1 = createClient({ persist: true, storage, reconnect: false });
    const joined = ch.waitForJoin();
    page1.connect(gw.connectOptions(ch));
    const conn = await joined;
    for (const word of ['The ', 'quick ', 'brown ']) ch.tokens(word);
    await waitForState(page1, (s) => s.lastSeq === 3);
    const down = nextEvent(page1, 'disconnected');
    conn.drop();
    await down;
    ch.tokens('fox ');
    ch.tokens('jumps.');

    const page2 = createClient({ persist: true, storage });
    expect(page2.hasPendingRequest()).toBe(true);
    expect(page2.getState()).toMatchObject({
      text: 'The quick brown ',
      lastSeq: 3,
      channelId: ch.channelId,
      hasPendingRequest: true,
      connectionState: 'disconnected',
    });
    expect(gw.upgrades).toHaveLength(1); // the constructor does not connect
    const rejoined = ch.waitForJoin();
    expect(page2.reconnect()).toBe(true);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(page2);
    expect(state.text).toBe('The quick brown fox jumps.');
    expect(state.metrics.tokenCount).toBe(2); // counted by this page: the two it applied
    // It resumed with the resume token page 1 persisted, and the record is gone at the end.
    expect(gw.upgrades.map((u) => u.token)).toEqual([ch.wsToken, ch.resumeTokens[0]]);
    expect(stored(storage)).toBeNull();
    expect(page2.hasPendingRequest()).toBe(false);
  });

  it('writes the latest text at once when the page is hidden or unloading (pagehide)', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    let signal: ((reason: 'online' | 'visible' | 'hidden') => void) | null = null;
    // Timers that never fire: the throttled write's trailing edge can only come from the signal.
    const client = createClient({
      persist: true,
      storage,
      timers: { setTimeout: () => 0, clearTimeout: () => undefined },
      lifecycle: (onWake) => {
        signal = onWake;
        return () => undefined;
      },
    });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    for (const word of ['one ', 'two ', 'three ']) ch.tokens(word);
    await waitForState(client, (s) => s.lastSeq === 3);
    // Throttled: the record lags behind what the page shows...
    expect(stored(storage)?.text).not.toBe('one two three ');
    signal!('hidden');
    // ...until the page goes away.
    expect(stored(storage)).toMatchObject({ text: 'one two three ', lastSeq: 3 });
  });

  it('persists the channel, urls, resume token and applied text; the ws_token is never stored after use', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const client = createClient({ persist: true, storage });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    await waitForState(client, (s) => s.isConnected);
    ch.tokens('abc');
    await waitForState(client, (s) => s.text === 'abc');
    // The first event after the join's write is written at once (the throttle's leading edge).
    const record = stored(storage);
    expect(record).toMatchObject({
      channelId: ch.channelId,
      websocketUrl: gw.url,
      websocketChannel: ch.topic,
      resumeToken: ch.resumeTokens[0],
      lastSeq: 1,
      text: 'abc',
    });
    expect(JSON.stringify(record)).not.toContain(ch.wsToken);
  });

  it('a terminal response clears the record; so does disconnect()', async () => {
    const gw = await startGateway();
    const storage = createMemoryStorage();
    const client = createClient({ persist: true, storage });
    const a = gw.createChannel();
    let joined = a.waitForJoin();
    client.connect(gw.connectOptions(a));
    await joined;
    expect(stored(storage)).not.toBeNull();
    expect(client.hasPendingRequest()).toBe(true);
    const pendingSeen: boolean[] = [];
    client.on('response', () => pendingSeen.push(client.hasPendingRequest()));
    a.respond({ status: 'success', content: '' });
    await waitForEnd(client);
    expect(pendingSeen).toEqual([false]); // already forgotten when the response is heard
    expect(stored(storage)).toBeNull();

    const b = gw.createChannel();
    joined = b.waitForJoin();
    client.connect(gw.connectOptions(b));
    await joined;
    expect(stored(storage)).not.toBeNull();
    client.disconnect();
    expect(stored(storage)).toBeNull();
    expect(client.getState().hasPendingRequest).toBe(false);
  });

  it('destroy({ keepPending: true }) closes everything but keeps the request, with all it received, for the next client', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const page1 = createClient({ persist: true, storage });
    const joined = ch.waitForJoin();
    page1.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('Kept ');
    ch.tokens('text ');
    await waitForState(page1, (s) => s.lastSeq === 2);
    page1.destroy({ keepPending: true });
    await conn.closedInfo;
    expect(stored(storage)).toMatchObject({ channelId: ch.channelId, lastSeq: 2, text: 'Kept text ' });
    ch.tokens('resumed.');

    const page2 = createClient({ persist: true, storage });
    expect(page2.getState()).toMatchObject({ text: 'Kept text ', hasPendingRequest: true });
    const rejoined = ch.waitForJoin();
    expect(page2.reconnect()).toBe(true);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(page2)).text).toBe('Kept text resumed.');
    // Without the option, destroy() forgets the request.
    page2.destroy();
    const page3 = createClient({ persist: true, storage });
    const c = gw.createChannel();
    const joinedC = c.waitForJoin();
    page3.connect(gw.connectOptions(c));
    await joinedC;
    page3.destroy();
    expect(stored(storage)).toBeNull();
  });

  it('a record older than requestTimeout is ignored', async () => {
    const storage = createMemoryStorage();
    let clock = 1_000_000;
    storage.setItem(
      KEY,
      JSON.stringify({ v: 2, channelId: 'c1', resumeToken: 'r', lastSeq: 2, text: 'hi', savedAt: clock }),
    );
    clock += 60_001;
    const client = createClient({ persist: true, storage, now: () => clock, requestTimeout: 60_000 });
    expect(client.hasPendingRequest()).toBe(false);
    expect(client.getState().text).toBe('');
    expect(client.reconnect()).toBe(false);
  });

  it("resumes the hosted SDK's record through getToken, never reusing its spent ws_token", async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    ch.tokens('old ');
    const storage = createMemoryStorage();
    storage.setItem(
      KEY,
      JSON.stringify({ channelId: ch.channelId, wsToken: ch.wsToken, timestamp: Date.now(), websocketUrl: gw.url, websocketChannel: ch.topic }),
    );
    const client = createClient({ persist: true, storage, getToken: async () => ch.issueToken() });
    expect(client.hasPendingRequest()).toBe(true);
    const joined = ch.waitForJoin();
    expect(client.reconnect()).toBe(true);
    await joined;
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('old ');
    expect(gw.upgrades.map((u) => u.token)).not.toContain(ch.wsToken);
  });

  it('reconnect() without any token source returns false and keeps the record', () => {
    const storage = createMemoryStorage();
    storage.setItem(KEY, JSON.stringify({ v: 2, channelId: 'c1', resumeToken: null, lastSeq: 1, text: 'x', savedAt: Date.now() }));
    const client = createClient({ persist: true, storage });
    expect(client.reconnect()).toBe(false);
    expect(client.hasPendingRequest()).toBe(true);
  });

  it('a reload whose persisted resume token is refused falls back to getToken at once, even with reconnect: false', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const page1 = createClient({ persist: true, storage, reconnect: false });
    const joined = ch.waitForJoin();
    page1.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('so far ');
    await waitForState(page1, (s) => s.lastSeq === 1);
    const down = nextEvent(page1, 'disconnected');
    conn.drop();
    await down;
    ch.revokeTokens('resume_token'); // e.g. it expired while the tab was closed
    ch.tokens('and the rest');

    const page2 = createClient({ persist: true, storage, reconnect: false, getToken: async () => ch.issueToken() });
    const vias: string[] = [];
    page2.on('connecting', (i) => vias.push(i.via));
    const rejoined = ch.waitForJoin();
    expect(page2.reconnect()).toBe(true);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(page2)).text).toBe('so far and the rest');
    expect(vias).toEqual(['resume_token', 'get_token']);
  });
});
