import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from './index.js';
import type { StreamState } from './index.js';
import { createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

/**
 * The snapshot contract, now that the client changes a private working copy in
 * place and builds snapshots only on demand.
 */
describe('state snapshots', () => {
  it('getState() is the same object while nothing changes, a new one after each change, and never changes later', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const initial = client.getState();
    expect(client.getState()).toBe(initial);
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('a');
    const first = await waitForState(client, (s) => s.text === 'a');
    expect(client.getState()).toBe(first);
    expect(client.getState()).toBe(client.getState());
    ch.tokens('b');
    const second = await waitForState(client, (s) => s.text === 'ab');
    expect(second).not.toBe(first);
    // Earlier snapshots keep what they showed: the working copy is not shared with them.
    expect(first.text).toBe('a');
    expect(first.lastSeq).toBe(1);
    expect(first.metrics.tokenCount).toBe(1);
    expect(second.metrics.tokenCount).toBe(2);
    expect(initial.status).toBe('idle');
    // Unchanged parts keep their identity; metrics too when no metric changed.
    expect(second.steps).toBe(first.steps);
    ch.status('processing');
    const third = await waitForState(client, (s) => s.lastSeq === 3);
    expect(third.metrics).toBe(second.metrics);
    expect(third.steps).toBe(second.steps);
  });

  it('state and subscribe listeners get (state, previous) as a chain, including a subscriber that came late', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    // Tokens with nobody listening to state: no snapshot is built for them.
    ch.tokens('a');
    ch.tokens('b');
    await waitForState(client, (s) => s.text === 'ab');
    const before = client.getState();
    const calls: Array<[StreamState, StreamState]> = [];
    const events: Array<[StreamState, StreamState]> = [];
    client.subscribe((state, previous) => calls.push([state, previous]));
    client.on('state', (state, previous) => events.push([state, previous]));
    ch.tokens('c');
    ch.tokens('d');
    ch.respond({ status: 'success' });
    await waitForEnd(client);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls[0]?.[1]).toBe(before);
    expect(calls[0]?.[0].text).toBe('abc');
    for (let i = 1; i < calls.length; i++) expect(calls[i]?.[1]).toBe(calls[i - 1]?.[0]);
    expect(calls.at(-1)?.[0]).toBe(client.getState());
    expect(events).toEqual(calls);
  });

  it('in a deferred mode, a subscriber added while a change waits gets the state before it as previous', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ notify: 'microtask' });
    const initial = client.getState();
    client.connect(gw.connectOptions(ch));
    const calls: Array<[StreamState, StreamState]> = [];
    client.subscribe((state, previous) => calls.push([state, previous]));
    await Promise.resolve();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[1]).toBe(initial);
    expect(calls[0]?.[0].status).toBe('pending');
  });

  it('in a deferred mode, a subscriber added by a tokens listener gets the delivered state as previous', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ notify: 'microtask' });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('a');
    await nextEvent(client, 'tokens');
    await Promise.resolve(); // the delivery of 'a', to nobody
    const delivered = client.getState();
    const calls: Array<[StreamState, StreamState]> = [];
    // No other state listener may exist before this one (waitForState would add one).
    const called = new Promise<void>((resolve) => {
      const off = client.on('tokens', () => {
        off();
        client.subscribe((state, previous) => {
          calls.push([state, previous]);
          resolve();
        });
      });
    });
    ch.tokens('b');
    await called;
    expect(calls[0]?.[1]).toBe(delivered);
    expect(calls[0]?.[0].text).toBe('ab');
  });

  it('the text is exact at every read, though deltas are joined into it in chunks', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    const client = createClient({ persist: true, storage });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    let expected = '';
    for (let i = 1; i <= 150; i++) {
      expected += `t${i} `;
      ch.tokens(`t${i} `);
      if (i === 70 || i === 150) {
        // No state listener: nothing has read the text since the stream began.
        await nextEvent(client, 'tokens', (e) => e.seq === i);
        expect(client.getState().text).toBe(expected);
      }
    }
    const rejoined = ch.waitForJoin();
    const down = nextEvent(client, 'disconnected');
    conn.drop(); // the link loss writes the record at once
    await down;
    // Read before the rejoin, whose join reply writes the record too.
    const record = JSON.parse(storage.getItem('modelriver_active_request') ?? '{}') as { text?: string; lastSeq?: number };
    expect(record).toMatchObject({ text: expected, lastSeq: 150 });
    await rejoined;
    ch.tokens('end');
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe(`${expected}end`);
  });
});
