import { describe, expect, it } from 'vitest';
import { ModelRiverError } from './index.js';
import type { AsyncResponse } from './index.js';
import { RecordingTimers, createClient, nextEvent, startGateway, waitForEnd, waitForState } from '../test/harness.js';

describe('connect() options', () => {
  it('takes the async ack as the backend returns it (snake_case) and streams', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const ack: AsyncResponse = {
      message: 'success',
      status: 'pending',
      channel_id: ch.channelId,
      project_id: gw.projectId,
      ws_token: ch.wsToken,
      websocket_url: gw.url,
      websocket_channel: ch.topic,
    };
    const joined = ch.waitForJoin();
    client.connect(ack);
    await joined;
    ch.tokens('snake');
    ch.respond({ status: 'success', content: undefined });
    expect(await waitForEnd(client)).toMatchObject({ status: 'success', text: 'snake', channelId: ch.channelId });
    expect(gw.upgrades).toEqual([expect.objectContaining({ token: ch.wsToken, accepted: true })]);
  });

  it('stream() takes the snake_case ack too', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const stream = client.stream({ channel_id: ch.channelId, ws_token: ch.wsToken, websocket_url: gw.url, websocket_channel: ch.topic });
    await joined;
    ch.tokens('it');
    ch.respond({ status: 'success', content: undefined });
    expect(await stream.finalText()).toBe('it');
  });

  it('a join refused for want of websocketChannel says to pass the ack\'s websocket_channel', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const failed = nextEvent(client, 'error');
    // channelId is given; the topic guessed from it (ai_response:{channelId}) is what the gateway refuses.
    client.connect({ channelId: ch.channelId, wsToken: ch.wsToken, websocketUrl: gw.url });
    const [error] = await failed;
    expect(error.code).toBe('invalid_channel_format');
    expect(error.message).toContain("pass the ack's websocket_channel as websocketChannel");
    expect(error.message).not.toMatch(/channelId is required/);
    expect(client.getState()).toMatchObject({ status: 'error', errorCode: 'invalid_channel_format', error: error.message });
  });

  it('a missing channel_id/ws_token names the ack field to pass', () => {
    const client = createClient();
    const errors: ModelRiverError[] = [];
    client.on('error', (e) => errors.push(e as ModelRiverError));
    client.connect({ channel_id: 'c' } as never);
    expect(errors[0]?.message).toMatch(/wsToken is required: pass the ack of POST \/v1\/ai\/async \(its ws_token\)/);
  });

  it('a connect() problem is visible in the state without an error listener', async () => {
    const timers = new RecordingTimers();
    const client = createClient({ timers });
    expect(client.getState().status).toBe('idle');
    client.connect({ channelId: 'c', wsToken: '' });
    expect(client.getState()).toMatchObject({ status: 'error', errorCode: 'invalid_options', error: expect.stringMatching(/wsToken is required/) });
    expect(timers.pending).toBe(0);
  });

  it('a connect() problem while a request streams does not end that request', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('on');
    await waitForState(client, (s) => s.text === 'on');
    client.connect({ channelId: '', wsToken: 't' });
    expect(client.getState()).toMatchObject({ status: 'streaming', errorCode: 'invalid_options', isConnected: true });
    ch.respond({ status: 'success', content: undefined });
    expect((await waitForEnd(client)).status).toBe('success');
  });

  it('connect() after destroy() throws destroyed', () => {
    const client = createClient();
    client.destroy();
    let caught: unknown;
    try {
      client.connect({ channelId: 'c', wsToken: 't' });
    } catch (error) {
      caught = error;
    }
    expect(ModelRiverError.is(caught, 'destroyed')).toBe(true);
  });
});
