/**
 * The channel contract (docs/protocol.md §2) as one list of cases, defined once and run on every
 * target: a raw `ws` client checks it frame by frame, the official `phoenix` client checks that a
 * stock Phoenix v2 client joins, replays, streams and cancels, and @modelriver/client checks one
 * full stream end to end.
 */
import { Socket, type Channel } from 'phoenix';
import { WebSocket } from 'ws';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { ModelRiverClient, type AIResponse } from '@modelriver/client';
import type { Capability, ConformanceTarget, Drift, Producer, TargetFactory } from './targets.js';
import { applyInOrder, connectUrl, upgradeStatus, WireClient, type EventPayload, type WireFrame } from './wire-client.js';

/**
 * Text that must come out byte for byte as it went in: accents, CJK, a skin-tone modifier, a
 * ZWJ family, a flag (two regional indicators) and an astral-plane letter.
 */
export const PIECES = ['Olá, ', 'mundo — ', '日本語の', 'テキスト ', 'wave 👋🏽 ', '👨‍👩‍👧', ' café ', '🇫🇷', ' 𝒜!'] as const;

const sameBytes = (actual: string, expected: string): void => {
  expect(Buffer.from(actual, 'utf8').equals(Buffer.from(expected, 'utf8'))).toBe(true);
  expect(actual).toBe(expected);
};

const eventsOf = (client: WireClient, topic: string) => client.events(topic);

/**
 * Defines every contract case for one target, inside the caller's `describe`.
 *
 * @example
 * ```ts
 * for (const factory of targets) describe(factory.name, () => defineContractCases(factory));
 * ```
 */
export function defineContractCases(factory: TargetFactory): void {
  let target: ConformanceTarget;
  let nextUrl = 0;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    target = await factory.start();
  });
  afterAll(async () => {
    await target?.close();
  });
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  /** The next socket URL, round-robin (a multi-node target spreads clients over its nodes). */
  const socketUrl = (): string => {
    const urls = target.socketUrls;
    const url = urls[nextUrl % urls.length] as string;
    nextUrl += 1;
    return url;
  };

  const dial = async (token: string): Promise<WireClient> => {
    const client = await WireClient.connect(connectUrl(socketUrl(), token));
    cleanups.push(() => client.close());
    return client;
  };

  /** A channel and a client joined to it; events published before this call are replayed. */
  const joined = async (producer: Producer, payload: Record<string, unknown> = {}) => {
    const client = await dial(await producer.issueToken());
    const join = await client.join(producer.topic, payload);
    expect(join.reply.status).toBe('ok');
    return { client, ...join };
  };

  const waitForSeq = (client: WireClient, topic: string, seq: number): Promise<WireFrame> =>
    client.waitFor((f) => f[2] === topic && f[3] !== 'phx_reply' && (f[4] as EventPayload).seq >= seq);

  /** Publishes PIECES as one `tokens` event each; returns the last seq. */
  const publishText = async (producer: Producer): Promise<number> => {
    let seq = 0;
    for (const delta of PIECES) seq = await producer.publish('tokens', { delta });
    return seq;
  };

  const respond = (producer: Producer): Promise<number> =>
    producer.publish('response', { status: 'success', channel_id: producer.channelId, content: PIECES.join(''), meta: {} });

  const needs = (capability: Capability) => (factory.capabilities.has(capability) ? it : it.skip);
  /** A case the target is known to fail (it drifted): run as an expected failure, so a fix shows up. */
  const drifting = (drift: Drift) => (factory.drifts.has(drift) ? it.fails : it);

  // ---- frames -----------------------------------------------------------------------------------

  it('sends only 5-element array frames; server events carry seq, the join_ref and a null ref', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'processing' });
    await producer.publish('tokens', { delta: 'a' });
    await producer.publish('tokens', { delta: 'b' });
    const { client, joinRef } = await joined(producer);
    await producer.publish('tool_call', { index: 0, id: 'c1', name: 'f', arguments: '{}' });
    const last = await respond(producer);
    await waitForSeq(client, producer.topic, last);
    await client.heartbeat();

    for (const text of client.texts) {
      const frame: unknown = JSON.parse(text);
      expect(Array.isArray(frame) && frame.length === 5, text).toBe(true);
    }
    const events = eventsOf(client, producer.topic);
    expect(events.length).toBeGreaterThanOrEqual(4);
    for (const { frame, payload } of events) {
      expect(frame[0]).toBe(joinRef);
      expect(frame[1]).toBeNull();
      expect(Number.isInteger(payload.seq) && payload.seq >= 1).toBe(true);
    }
    expect(events.at(-1)?.payload.seq).toBe(last);
  });

  it('answers a heartbeat on the phoenix topic with ok', async () => {
    const producer = await target.open();
    const client = await dial(await producer.issueToken());
    const { frame, reply } = await client.heartbeat();
    expect(frame[2]).toBe('phoenix');
    expect(frame[3]).toBe('phx_reply');
    expect(reply).toEqual({ status: 'ok', response: {} });
  });

  it('drops messages that are not frames without an answer and keeps the socket open', async () => {
    const producer = await target.open();
    const { client } = await joined(producer);
    const before = client.texts.length;
    client.sendMessage('{not json');
    client.sendMessage('[1,2,3]');
    client.sendMessage(JSON.stringify({ topic: 'phoenix', event: 'heartbeat' }));
    // A well-formed heartbeat, but binary: frames are text, so it must not be answered.
    client.sendMessage(Buffer.from(JSON.stringify([null, '99', 'phoenix', 'heartbeat', {}])), { binary: true });
    const { reply } = await client.heartbeat();
    expect(reply.status).toBe('ok');
    // The heartbeat's reply is the only thing that came back.
    expect(client.texts.length - before).toBe(1);
  });

  // ---- join -------------------------------------------------------------------------------------

  it('replies ok to a join with the latest last_seq and a resume_token', async () => {
    const producer = await target.open();
    const empty = await joined(producer);
    expect(empty.reply.response.last_seq).toBe(0);

    await producer.publish('status', { status: 'queued' });
    const seq = await producer.publish('status', { status: 'processing' });
    const { reply } = await joined(producer);
    expect(reply.status).toBe('ok');
    expect(reply.response.last_seq).toBe(seq);
    expect(typeof reply.response.resume_token).toBe('string');
    expect((reply.response.resume_token as string).length).toBeGreaterThan(0);
  });

  it('replays everything published before the join: runs of tokens merged with first_seq, other events never merged', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'processing', provider: 'mock', model: 'm' }); // 1
    for (const delta of PIECES.slice(0, 3)) await producer.publish('tokens', { delta }); // 2..4
    await producer.publish('tool_call', { index: 0, id: 'c1', name: 'f', arguments: '{"a":' }); // 5
    await producer.publish('tool_call', { index: 0, arguments: '1}' }); // 6
    await producer.publish('tokens', { delta: PIECES[3] }); // 7
    await producer.publish('status', { status: 'ai_generated' }); // 8
    for (const delta of PIECES.slice(4)) await producer.publish('tokens', { delta }); // 9..13
    const last = await respond(producer); // 14

    const { client } = await joined(producer, { last_seq: 0 });
    await waitForSeq(client, producer.topic, last);
    const events = eventsOf(client, producer.topic);
    expect(events.map((e) => [e.event, e.payload.first_seq ?? e.payload.seq, e.payload.seq])).toEqual([
      ['status', 1, 1],
      ['tokens', 2, 4],
      ['tool_call', 5, 5],
      ['tool_call', 6, 6],
      ['tokens', 7, 7],
      ['status', 8, 8],
      ['tokens', 9, 13],
      ['response', 14, 14],
    ]);
    expect(events[1]?.payload.delta).toBe(PIECES.slice(0, 3).join(''));
    expect(events[2]?.payload).toMatchObject({ index: 0, id: 'c1', name: 'f', arguments: '{"a":' });
    expect(events[6]?.payload.delta).toBe(PIECES.slice(4).join(''));
    sameBytes(applyInOrder(events).text, PIECES.join(''));
  });

  it('replays only what follows last_seq N, even from inside a run of tokens', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'processing' }); // 1
    const seqs: number[] = [];
    for (const delta of PIECES) seqs.push(await producer.publish('tokens', { delta })); // 2..10
    const last = await respond(producer); // 11

    // seq 4 is the third piece: the replay starts at the fourth.
    const { client } = await joined(producer, { last_seq: 4 });
    await waitForSeq(client, producer.topic, last);
    const events = eventsOf(client, producer.topic);
    expect(events.map((e) => [e.event, e.payload.first_seq ?? e.payload.seq, e.payload.seq])).toEqual([
      ['tokens', 5, seqs.at(-1)],
      ['response', last, last],
    ]);
    sameBytes(applyInOrder(events, 4).text, PIECES.slice(3).join(''));
  });

  it('refuses a join to another channel’s topic with unauthorized, and keeps the socket', async () => {
    const mine = await target.open();
    const other = await target.open();
    const client = await dial(await mine.issueToken());
    const refused = await client.join(other.topic);
    expect(refused.reply).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
    expect((await client.join(mine.topic)).reply.status).toBe('ok');
  });

  it('refuses a malformed topic with invalid_channel_format, and keeps the socket', async () => {
    const producer = await target.open();
    const client = await dial(await producer.issueToken());
    for (const topic of ['ai_response:not-a-uuid:nor-this', 'ai_response', `ai_response:${target.projectId}`, 'lobby']) {
      const { reply } = await client.join(topic);
      expect(reply, topic).toEqual({ status: 'error', response: { reason: 'invalid_channel_format' } });
    }
    expect((await client.join(producer.topic)).reply.status).toBe('ok');
  });

  drifting('unmatched-topic-reason')('answers a push on a topic the socket has not joined with unmatched_topic', async () => {
    const producer = await target.open();
    const client = await dial(await producer.issueToken());
    const { reply } = await client.push(producer.topic, 'cancel', {});
    expect(reply).toEqual({ status: 'error', response: { reason: 'unmatched_topic' } });
  });

  it('answers an unknown event with an error reply', async () => {
    const producer = await target.open();
    const { client, joinRef } = await joined(producer);
    const { reply } = await client.push(producer.topic, 'tokenz', { delta: 'x' }, joinRef);
    expect(reply).toEqual({ status: 'error', response: { reason: 'unknown_event' } });
    expect((await client.heartbeat()).reply.status).toBe('ok');
  });

  it('answers cancel with ok and tells the producer', async () => {
    const producer = await target.open();
    const { client, joinRef } = await joined(producer);
    const { reply } = await client.push(producer.topic, 'cancel', {}, joinRef);
    expect(reply).toEqual({ status: 'ok', response: {} });
    await producer.cancelled;
  });

  needs('join-rate-limit')('refuses joins over the socket’s allowance with rate_limited, and keeps its subscription', async () => {
    const producer = await target.open();
    const { client, joinRef } = await joined(producer);
    // Twenty joins in one write burst: the allowance (10 at once, then 1 a second) cannot cover them.
    const replies = await Promise.all(Array.from({ length: 20 }, () => client.join(producer.topic, { last_seq: 0 })));
    const refused = replies.filter((r) => r.reply.status === 'error');
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) expect(r.reply.response).toEqual({ reason: 'rate_limited' });
    // The latest successful join is the live subscription; a refused one left it alone.
    const lastOk = replies.filter((r) => r.reply.status === 'ok').at(-1)?.joinRef ?? joinRef;
    const seq = await producer.publish('status', { status: 'processing' });
    const frame = await waitForSeq(client, producer.topic, seq);
    expect(frame[0]).toBe(lastOk);
  });

  // ---- tokens -----------------------------------------------------------------------------------

  it('refuses a missing or unknown token at the upgrade with HTTP 403', async () => {
    const url = socketUrl();
    expect(await upgradeStatus(connectUrl(url, 'not-a-token'))).toBe(403);
    expect(await upgradeStatus(`${url}/websocket?vsn=2.0.0`)).toBe(403);
  });

  it('accepts a ws_token once: a second upgrade with it is refused with 403', async () => {
    const producer = await target.open();
    const token = await producer.issueToken();
    const client = await dial(token);
    expect(await upgradeStatus(connectUrl(socketUrl(), token))).toBe(403);
    expect((await client.join(producer.topic)).reply.status).toBe('ok');
  });

  it('accepts a resume_token once, on a new socket, which then resumes after its last_seq', async () => {
    const producer = await target.open();
    await producer.publish('tokens', { delta: PIECES[0] });
    const first = await joined(producer);
    await waitForSeq(first.client, producer.topic, 1);
    const resumeToken = first.reply.response.resume_token as string;
    first.client.close();
    await producer.publish('tokens', { delta: PIECES[1] });

    const second = await dial(resumeToken);
    expect(await upgradeStatus(connectUrl(socketUrl(), resumeToken))).toBe(403);
    const { reply } = await second.join(producer.topic, { last_seq: 1 });
    expect(reply.status).toBe('ok');
    await waitForSeq(second, producer.topic, 2);
    const events = eventsOf(second, producer.topic);
    expect(events.map((e) => e.payload.seq)).toEqual([2]);
    sameBytes(applyInOrder(events, 1).text, PIECES[1]);
  });

  it('binds a resume_token to its topic', async () => {
    const mine = await target.open();
    const other = await target.open();
    const first = await joined(mine);
    const resumed = await dial(first.reply.response.resume_token as string);
    expect((await resumed.join(other.topic)).reply).toEqual({ status: 'error', response: { reason: 'unauthorized' } });
    expect((await resumed.join(mine.topic)).reply.status).toBe('ok');
  });

  drifting('resume-token-kept-on-rejoin')('keeps only the resume_token of a socket’s latest join alive', async () => {
    const producer = await target.open();
    const { client, reply } = await joined(producer);
    const rejoin = await client.join(producer.topic);
    expect(rejoin.reply.status).toBe('ok');
    expect(await upgradeStatus(connectUrl(socketUrl(), reply.response.resume_token as string))).toBe(403);
    expect(await upgradeStatus(connectUrl(socketUrl(), rejoin.reply.response.resume_token as string))).toBe(101);
  });

  needs('token-cap')('holds at most 64 live tokens per channel: one more revokes the oldest', async () => {
    const producer = await target.open();
    const tokens: string[] = [];
    for (let i = 0; i < 65; i++) tokens.push(await producer.issueToken());
    expect(await upgradeStatus(connectUrl(socketUrl(), tokens[0] as string))).toBe(403);
    expect(await upgradeStatus(connectUrl(socketUrl(), tokens[1] as string))).toBe(101);
    expect(await upgradeStatus(connectUrl(socketUrl(), tokens[64] as string))).toBe(101);
  });

  // ---- delivery ---------------------------------------------------------------------------------

  it('delivers live events after the join in seq order, with no gap and no duplicate', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'queued' });
    const { client, reply } = await joined(producer);
    await producer.publish('status', { status: 'processing', provider: 'mock', model: 'm' });
    for (let round = 0; round < 3; round++) {
      for (const delta of PIECES) await producer.publish('tokens', { delta });
      await producer.publish('tool_call', { index: round, id: `c${round}`, name: 'f', arguments: '{}' });
    }
    const last = await producer.publish('response', {
      status: 'success',
      channel_id: producer.channelId,
      content: PIECES.join('').repeat(3),
      meta: {},
    });
    await waitForSeq(client, producer.topic, last);
    const events = eventsOf(client, producer.topic);
    const applied = applyInOrder(events, 0);
    expect(applied.lastSeq).toBe(last);
    expect(reply.response.last_seq).toBe(1);
    sameBytes(applied.text, PIECES.join('').repeat(3));
    expect(events.filter((e) => e.event === 'tool_call').map((e) => e.payload.seq)).toHaveLength(3);
  });

  it('gives a late joiner the whole log after the terminal response and finish', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'processing' });
    await publishText(producer);
    const last = await respond(producer);
    await producer.finish();

    const { client, reply } = await joined(producer);
    expect(reply.response.last_seq).toBe(last);
    await waitForSeq(client, producer.topic, last);
    const events = eventsOf(client, producer.topic);
    const applied = applyInOrder(events);
    expect(applied.lastSeq).toBe(last);
    sameBytes(applied.text, PIECES.join(''));
    expect(events.at(-1)?.payload).toMatchObject({ status: 'success', content: PIECES.join('') });
    sameBytes(events.at(-1)?.payload.content as string, PIECES.join(''));
  });

  // ---- the official phoenix client --------------------------------------------------------------

  const connectPhoenix = (token: string): Socket => {
    const socket = new Socket(socketUrl(), {
      transport: WebSocket as unknown as new (endpoint: string) => object,
      params: { token },
      // Tokens are single use: a refused reconnect must not spin.
      reconnectAfterMs: () => 60_000,
      rejoinAfterMs: () => 60_000,
    });
    socket.connect();
    cleanups.push(() => socket.disconnect());
    return socket;
  };

  const joinPhoenix = (channel: Channel): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      channel
        .join()
        .receive('ok', (response: Record<string, unknown>) => resolve(response))
        .receive('error', (response: unknown) => reject(new Error(`join refused: ${JSON.stringify(response)}`)));
    });

  it('phoenix client: joins, receives the replay, then the live stream in order', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'processing' });
    for (const delta of PIECES.slice(0, 4)) await producer.publish('tokens', { delta });

    const channel = connectPhoenix(await producer.issueToken()).channel(producer.topic, { last_seq: 0 });
    const seen: { event: string; payload: EventPayload }[] = [];
    for (const event of ['status', 'tokens', 'tool_call']) channel.on(event, (payload: EventPayload) => {
        seen.push({ event, payload });
      });
    const done = new Promise<EventPayload>((resolve) =>
      channel.on('response', (payload: EventPayload) => {
        seen.push({ event: 'response', payload });
        resolve(payload);
      }),
    );
    const response = await joinPhoenix(channel);
    expect(response).toEqual({ last_seq: 5, resume_token: expect.any(String) });

    for (const delta of PIECES.slice(4)) await producer.publish('tokens', { delta });
    await producer.publish('tool_call', { index: 0, id: 'c1', name: 'f', arguments: '{}' });
    const last = await respond(producer);
    expect((await done).seq).toBe(last);

    expect(seen[1]).toEqual({ event: 'tokens', payload: { seq: 5, first_seq: 2, delta: PIECES.slice(0, 4).join('') } });
    const applied = applyInOrder(seen);
    expect(applied.lastSeq).toBe(last);
    sameBytes(applied.text, PIECES.join(''));
  });

  it('phoenix client: cancel is answered ok and reaches the producer', async () => {
    const producer = await target.open();
    const channel = connectPhoenix(await producer.issueToken()).channel(producer.topic, {});
    await joinPhoenix(channel);
    const reply = await new Promise<unknown>((resolve, reject) => {
      channel
        .push('cancel', {})
        .receive('ok', resolve)
        .receive('error', (response: unknown) => reject(new Error(JSON.stringify(response))));
    });
    expect(reply).toEqual({});
    await producer.cancelled;
  });

  // ---- @modelriver/client -----------------------------------------------------------------------

  it('@modelriver/client: one full stream, replay then live, text byte-identical', async () => {
    const producer = await target.open();
    await producer.publish('status', { status: 'processing', provider: 'mock', model: 'm' });
    for (const delta of PIECES.slice(0, 5)) await producer.publish('tokens', { delta });

    const client = new ModelRiverClient({ WebSocket: WebSocket as never, persist: false });
    cleanups.push(() => client.destroy());
    const problems: unknown[] = [];
    client.on('protocol_error', (info) => problems.push(info));
    client.on('error', (error) => problems.push(error));
    const joinedOnce = new Promise<void>((resolve) => client.on('channel_joined', () => resolve()));
    const finished = new Promise<AIResponse>((resolve) =>
      client.on('response', (response) => {
        if (response.status !== 'ai_generated') resolve(response);
      }),
    );
    client.connect({
      channelId: producer.channelId,
      wsToken: await producer.issueToken(),
      websocketUrl: socketUrl(),
      websocketChannel: producer.topic,
    });
    await joinedOnce;

    for (const delta of PIECES.slice(5)) await producer.publish('tokens', { delta });
    // No `content`: the client's text must come from the tokens alone, or a lost or doubled
    // token would be papered over by the final content.
    await producer.publish('response', { status: 'success', channel_id: producer.channelId, meta: {} });
    const response = await finished;

    expect(response.status).toBe('success');
    sameBytes(client.getState().text, PIECES.join(''));
    expect(problems).toEqual([]);
  });
}
