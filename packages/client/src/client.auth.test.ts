import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ModelRiverClient, ModelRiverError } from './index.js';
import type { ModelRiverClientOptions } from './index.js';
import { RecordingTimers, createClient, nextEvent, startGateway } from '../test/harness.js';

describe('join refusals', () => {
  it.each(['unauthorized', 'not_found', 'invalid_channel_format'] as const)(
    'a %s join refusal is terminal: error, state, and no further attempt',
    async (reason) => {
      const gw = await startGateway();
      const ch = gw.createChannel();
      ch.refuseJoinsWith = reason;
      const timers = new RecordingTimers();
      const client = createClient({ timers, getToken: async () => ch.issueToken() });
      const channelErrors: string[] = [];
      client.on('channel_error', (r) => channelErrors.push(r));
      const failed = nextEvent(client, 'error');
      client.connect(gw.connectOptions(ch));
      const [error] = await failed;
      expect(error).toBeInstanceOf(ModelRiverError);
      expect(error.code).toBe(reason);
      expect(channelErrors).toEqual([reason]);
      expect(client.getState()).toMatchObject({ status: 'error', errorCode: reason, connectionState: 'error', hasPendingRequest: false });
      // Nothing is scheduled: no retry will ever come.
      expect(timers.pending).toBe(0);
      expect(gw.upgrades).toHaveLength(1);
      expect(client.reconnect()).toBe(false);
    },
  );

  it('joining a topic the token is not bound to is unauthorized and not retried', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const other = gw.createChannel();
    const timers = new RecordingTimers();
    const client = createClient({ timers });
    const failed = nextEvent(client, 'error');
    client.connect({ ...gw.connectOptions(ch), websocketChannel: other.topic });
    expect((await failed)[0].code).toBe('unauthorized');
    expect(timers.pending).toBe(0);
  });

  it('a ws_token refused at the upgrade with no other token source ends with token_unavailable', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    ch.revokeTokens();
    const timers = new RecordingTimers();
    const client = createClient({ timers });
    const failed = nextEvent(client, 'error');
    client.connect(gw.connectOptions(ch));
    expect((await failed)[0].code).toBe('token_unavailable');
    expect(gw.upgrades).toEqual([expect.objectContaining({ accepted: false, status: 403 })]);
    expect(timers.pending).toBe(0);
  });
});

describe('misuse', () => {
  it('connect() without channelId or wsToken emits invalid_options (as the hosted SDK did) instead of throwing', async () => {
    const client = createClient();
    const errors: ModelRiverError[] = [];
    client.on('error', (e) => errors.push(e as ModelRiverError));
    expect(() => client.connect({ channelId: '', wsToken: 't' })).not.toThrow();
    expect(() => client.connect({ channelId: 'c', wsToken: '' })).not.toThrow();
    expect(errors.map((e) => e.code)).toEqual(['invalid_options', 'invalid_options']);
    expect(errors[0]?.message).toMatch(/channelId is required/);
    expect(errors[1]?.message).toMatch(/wsToken is required/);
    expect(client.getState()).toMatchObject({ errorCode: 'invalid_options', error: expect.stringMatching(/wsToken/) });
  });

  it.each<[string, Record<string, unknown>]>([
    ['websocketUrl', { websocketUrl: 42 }],
    ['websocketChannel', { websocketChannel: { topic: 'x' } }],
  ])('connect() with a non-string %s emits invalid_options and opens nothing', async (name, bad) => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const timers = new RecordingTimers();
    const client = createClient({ timers });
    const errors: ModelRiverError[] = [];
    client.on('error', (e) => errors.push(e as ModelRiverError));
    expect(() => client.connect({ ...gw.connectOptions(ch), ...bad } as never)).not.toThrow();
    expect(errors.map((e) => e.code)).toEqual(['invalid_options']);
    expect(errors[0]?.message).toContain(name);
    // Visible in the state too (issue 8, item 5: it used to stay 'idle').
    expect(client.getState()).toMatchObject({ errorCode: 'invalid_options', status: 'error' });
    expect(timers.pending).toBe(0);
    expect(gw.upgrades).toHaveLength(0);
  });

  it('stream() throws invalid_options at once', () => {
    const client = createClient();
    expect(() => client.stream({ channelId: 'c', wsToken: '' })).toThrowError(expect.objectContaining({ code: 'invalid_options' }));
  });

  it.each<[string, ModelRiverClientOptions | null]>([
    ['reconnect.factor', { reconnect: { factor: 0 } }],
    ['heartbeatInterval', { heartbeatInterval: -5 }],
    ['pushBuffer.maxSize', { pushBuffer: { maxSize: 1.5 } }],
    ['notify', { notify: 'later' as never }],
    ['maxFrameBytes', { maxFrameBytes: 0 }],
    // `null` stands for the options object itself being null (not spread over the defaults).
    ['options', null],
    ['getToken', { getToken: 1 as never }],
    ['WebSocket', { WebSocket: {} as never }],
    ['pushBuffer.timeoutMs', { pushBuffer: { timeoutMs: 0 } }],
    ['joinTimeout', { joinTimeout: -1 }],
    ['requestTimeout', { requestTimeout: Number.NaN }],
    ['rejoin.factor', { rejoin: { factor: 0 } }],
  ])('the constructor throws invalid_options naming %s', (name, options) => {
    let caught: unknown;
    try {
      new ModelRiverClient(options === null ? (null as never) : { WebSocket, persist: false, ...options });
    } catch (error) {
      caught = error;
    }
    expect(ModelRiverError.is(caught, 'invalid_options')).toBe(true);
    expect((caught as Error).message).toContain(name);
  });

  it('a malformed websocketUrl is reported as invalid_options, not retried', async () => {
    const timers = new RecordingTimers();
    const client = createClient({ timers });
    const failed = nextEvent(client, 'error');
    client.connect({ channelId: 'c', wsToken: 't', websocketUrl: 'not a url' });
    expect((await failed)[0].code).toBe('invalid_options');
    expect(timers.pending).toBe(0);
  });

  it('cancel() without a request rejects with not_connected; after destroy() with destroyed', async () => {
    const client = createClient();
    await expect(client.cancel()).rejects.toMatchObject({ code: 'not_connected' });
    client.destroy();
    await expect(client.cancel()).rejects.toMatchObject({ code: 'destroyed' });
    expect(() => client.stream({ channelId: 'c', wsToken: 't' })).toThrowError(expect.objectContaining({ code: 'destroyed' }));
  });
});
