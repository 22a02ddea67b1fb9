import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConnectingInfo, TokenGrant } from './index.js';
import { RecordingTimers, createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

describe('tokens', () => {
  it('never presents the ws_token twice: every reconnect uses the latest resume token', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    let joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    let conn = await joined;
    for (let i = 0; i < 3; i++) {
      joined = ch.waitForJoin();
      conn.drop();
      conn = await joined;
    }
    expect(gw.upgrades.map((u) => u.token)).toEqual([ch.wsToken, ...ch.resumeTokens.slice(0, 3)]);
    expect(gw.upgrades.every((u) => u.accepted)).toBe(true);
  });

  it('falls back to getToken(channelId) when the resume token is refused at the upgrade', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const asked: string[] = [];
    const client = createClient({
      getToken: async (channelId) => {
        asked.push(channelId);
        return { wsToken: ch.issueToken(), websocketUrl: gw.url };
      },
    });
    const vias: ConnectingInfo['via'][] = [];
    client.on('connecting', (i) => vias.push(i.via));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('a');
    await waitForState(client, (s) => s.text === 'a');
    ch.revokeTokens('resume_token');
    const rejoined = ch.waitForJoin();
    conn.drop();
    ch.tokens('b');
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('ab');
    expect(asked).toEqual([ch.channelId]);
    expect(vias).toEqual(['ws_token', 'resume_token', 'get_token']);
    expect(gw.upgrades.map((u) => [u.kind, u.status])).toEqual([
      ['ws_token', 101],
      ['resume_token', 403],
      ['ws_token', 101],
    ]);
  });

  it('retries getToken with backoff when it throws, then connects', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const recording = new RecordingTimers();
    // Marks the timer scheduled right after the token_error, to tell whether the retry waited for it.
    let retryIndex = -1;
    let retryFired = false;
    const timers = {
      setTimeout: (fn: () => void, ms: number): unknown => {
        const index = recording.delays.length;
        return recording.setTimeout(() => {
          if (index === retryIndex) retryFired = true;
          fn();
        }, ms);
      },
      clearTimeout: recording.clearTimeout,
    };
    let calls = 0;
    let waitedBeforeRetry: boolean | null = null;
    const client = createClient({
      timers,
      random: () => 0.5,
      // A flat 40 ms ceiling: with random 0.5 every retry waits 20 ms, whatever the attempt.
      reconnect: { initialDelayMs: 40, maxDelayMs: 40, minUptimeMs: 1_000 },
      getToken: async () => {
        calls += 1;
        if (calls === 1) throw new Error('backend briefly down');
        waitedBeforeRetry = retryFired;
        return ch.issueToken();
      },
    });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.revokeTokens('resume_token');
    // Run synchronously inside the emit: the client sets the backoff timer right after `disconnected`,
    // so it is the next one recorded.
    client.on('disconnected', (reason) => {
      if (reason === 'token_error') retryIndex = recording.delays.length;
    });
    const rejoined = ch.waitForJoin();
    conn.drop();
    await rejoined;
    expect(retryIndex).toBeGreaterThanOrEqual(0);
    expect(calls).toBe(2);
    expect(recording.delays[retryIndex]).toBe(20);
    expect(waitedBeforeRetry).toBe(true);
  });

  it.each<[string, TokenGrant | string | null]>([
    ['null', null],
    ['{}', {} as TokenGrant],
    ["{wsToken: ''}", { wsToken: '' }],
    ["''", ''],
  ])('ends with a terminal token_unavailable when getToken gives %s (no token)', async (_name, grant) => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    let asked = 0;
    const client = createClient({
      timers,
      getToken: async () => {
        asked += 1;
        return grant;
      },
    });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.revokeTokens();
    const failed = nextEvent(client, 'error');
    conn.drop();
    const [error] = await failed;
    expect(error.code).toBe('token_unavailable');
    expect(client.getState()).toMatchObject({ status: 'error', errorCode: 'token_unavailable', connectionState: 'error' });
    expect(timers.pending).toBe(0);
    expect(gw.upgrades.filter((u) => u.accepted)).toHaveLength(1);
    // Nothing was presented with the empty grant: the refused resume token is the last attempt.
    expect(gw.upgrades).toHaveLength(2);
    expect(asked).toBe(1);
  });

  it('falls back to a refused first ws_token with getToken too', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ getToken: async () => ch.issueToken() });
    ch.revokeTokens('ws_token'); // the ack's token is no good (expired, say)
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    expect(gw.upgrades.map((u) => u.accepted)).toEqual([false, true]);
  });

  it('uses the backend reconnect route automatically when apiBaseUrl is set', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ apiBaseUrl: `${gw.httpUrl}/` });
    const vias: ConnectingInfo['via'][] = [];
    client.on('connecting', (i) => vias.push(i.via));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.revokeTokens('resume_token');
    const rejoined = ch.waitForJoin();
    conn.drop();
    await rejoined;
    expect(vias).toEqual(['ws_token', 'resume_token', 'backend']);
    expect(gw.httpRequests).toEqual([
      expect.objectContaining({ method: 'POST', path: '/api/v1/ai/reconnect', body: { channel_id: ch.channelId }, status: 200 }),
    ]);
  });

  it('retries a failing backend (HTTP 500) and connects once it answers', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ apiBaseUrl: gw.httpUrl });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.revokeTokens('resume_token');
    gw.reconnectFailure = { status: 500, code: 'internal' };
    const rejoined = ch.waitForJoin();
    const firstFailure = nextEvent(client, 'disconnected', (reason) => reason === 'token_error');
    conn.drop();
    await firstFailure;
    expect(gw.httpRequests.map((r) => r.status)).toEqual([500]);
    gw.reconnectFailure = null;
    await rejoined;
    expect(gw.httpRequests.map((r) => r.status)).toContain(200);
    expect(client.getState().connectionState).toBe('connected');
  });

  it.each([429, 408])('retries a backend answering %i (it may pass) and connects once it answers', async (status) => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ apiBaseUrl: gw.httpUrl });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.revokeTokens('resume_token');
    gw.reconnectFailure = { status, code: status === 429 ? 'rate_limited' : 'timeout' };
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    const rejoined = ch.waitForJoin();
    const firstFailure = nextEvent(client, 'disconnected', (reason) => reason === 'token_error');
    conn.drop();
    await firstFailure;
    expect(gw.httpRequests.map((r) => r.status)).toEqual([status]);
    gw.reconnectFailure = null;
    await rejoined;
    expect(gw.httpRequests.map((r) => r.status).at(-1)).toBe(200);
    expect(errors).toEqual([]);
    expect(client.getState().connectionState).toBe('connected');
  });

  it.each<[string, unknown]>([
    ['no ws_token', { channel_id: 'c' }],
    ["ws_token ''", { channel_id: 'c', ws_token: '' }],
    ['a null body', null],
  ])('a backend answering 200 with %s ends in token_unavailable', async (_name, body) => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    const fetched: string[] = [];
    const fetchStub = (async (input: string | URL | Request) => {
      fetched.push(String(input));
      return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof fetch;
    const client = createClient({ timers, apiBaseUrl: 'http://backend.invalid', fetch: fetchStub });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.revokeTokens('resume_token');
    const failed = nextEvent(client, 'error');
    conn.drop();
    const [error] = await failed;
    expect(error.code).toBe('token_unavailable');
    expect(fetched).toEqual(['http://backend.invalid/api/v1/ai/reconnect']);
    expect(client.getState()).toMatchObject({ status: 'error', errorCode: 'token_unavailable', connectionState: 'error' });
    expect(timers.pending).toBe(0);
  });

  it('reconnectWithBackend() resumes a stopped request with a fresh token from the backend', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ reconnect: false, apiBaseUrl: gw.httpUrl });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('first ');
    await waitForState(client, (s) => s.lastSeq === 1);
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    ch.tokens('second');
    const rejoined = ch.waitForJoin();
    await expect(client.reconnectWithBackend()).resolves.toBe(true);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('first second');
    expect(gw.upgrades.at(-1)).toMatchObject({ kind: 'ws_token', accepted: true });
    expect(gw.httpRequests).toHaveLength(1);
  });

  it('reconnectWithBackend() resolves false without apiBaseUrl, without a request, or on a 404', async () => {
    const gw = await startGateway();
    const plain = createClient();
    await expect(plain.reconnectWithBackend()).resolves.toBe(false);
    const withBackend = createClient({ apiBaseUrl: gw.httpUrl, reconnect: false });
    await expect(withBackend.reconnectWithBackend()).resolves.toBe(false);
    expect(gw.httpRequests).toEqual([]);
    // A channel the backend does not know: 404.
    const ch = gw.createChannel();
    const joined = ch.waitForJoin();
    withBackend.connect({ ...gw.connectOptions(ch), channelId: '00000000-0000-4000-8000-000000000404' });
    const conn = await joined;
    // While the link is up it needs no token: false without asking the backend.
    await expect(withBackend.reconnectWithBackend()).resolves.toBe(false);
    expect(gw.httpRequests).toEqual([]);
    const down = nextEvent(withBackend, 'disconnected');
    conn.drop();
    await down;
    await expect(withBackend.reconnectWithBackend()).resolves.toBe(false);
    expect(gw.httpRequests.map((r) => [r.path, r.status])).toEqual([['/api/v1/ai/reconnect', 404]]);
    expect(gw.upgrades).toHaveLength(1);
  });

  it('connect() with a fresh ws_token for the same request while it is down resumes from the text held', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient({ reconnect: false });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('kept ');
    await waitForState(client, (s) => s.lastSeq === 1);
    const down = nextEvent(client, 'disconnected');
    conn.drop();
    await down;
    ch.tokens('more');
    const since = gw.received.length;
    const rejoined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch, ch.issueToken()));
    await rejoined;
    const join = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join', { since });
    expect(join.frame?.[4]).toEqual({ last_seq: 1 });
    ch.respond({ status: 'success', content: undefined });
    const state = await waitForEnd(client);
    expect(state.text).toBe('kept more');
    expect(state.metrics.tokenCount).toBe(2);
  });

  it('connect() for the same request after token_unavailable resumes instead of starting over', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    const conn = await joined;
    ch.tokens('one ');
    await waitForState(client, (s) => s.lastSeq === 1);
    ch.revokeTokens('resume_token');
    const failed = nextEvent(client, 'error');
    conn.drop();
    expect((await failed)[0].code).toBe('token_unavailable');
    const since = gw.received.length;
    const rejoined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch, ch.issueToken()));
    await rejoined;
    const join = await gw.waitForFrame((f) => f.frame?.[3] === 'phx_join', { since });
    expect(join.frame?.[4]).toEqual({ last_seq: 1 });
    expect(client.getState()).toMatchObject({ text: 'one ', status: 'streaming' });
    ch.tokens('two');
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).text).toBe('one two');
  });

  it('a link that dies after the upgrade but before the join reply never re-presents its spent token', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    let created = 0;
    // The first socket dies right after it opens: its ws_token is spent, no resume token came yet.
    class DyingOnce extends WebSocket {
      constructor(url: string) {
        super(url);
        created += 1;
        if (created === 1) this.addEventListener('open', () => this.terminate());
      }
    }
    const client = createClient({ WebSocket: DyingOnce, getToken: async () => ch.issueToken() });
    const vias: ConnectingInfo['via'][] = [];
    client.on('connecting', (i) => vias.push(i.via));
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    expect(vias).toEqual(['ws_token', 'get_token']);
    expect(gw.upgrades.map((u) => u.accepted)).toEqual([true, true]);
    expect(gw.upgrades[1]?.token).not.toBe(ch.wsToken);
  });
});
