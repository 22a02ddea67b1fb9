/**
 * Interop with the official Phoenix JavaScript client (`phoenix` on npm, protocol vsn 2.0.0 by
 * default): if it can connect, join, heartbeat, receive the replay and the live stream, cancel and
 * leave, the hub speaks Phoenix Channels v2 as Phoenix itself does.
 */
import { Socket, type Channel } from 'phoenix';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { openChannel, startHub, type HubFixture } from './channels.harness.js';

let fx: HubFixture | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  socket?.disconnect();
  socket = undefined;
  await fx?.close();
  fx = undefined;
});

/** What `Socket.onMessage` hands its callbacks. */
interface PhoenixMessage {
  topic: string;
  event: string;
  ref: string | null;
  payload: { status?: string };
}

function connectPhoenix(token: string, options: { heartbeatIntervalMs?: number } = {}): Socket {
  socket = new Socket(`ws://127.0.0.1:${fx!.port}/socket`, {
    transport: WebSocket as unknown as new (endpoint: string) => object,
    params: { token },
    // A refused reconnect must not spin: tokens are single use.
    reconnectAfterMs: () => 60_000,
    ...options,
  });
  socket.connect();
  return socket;
}

function joinPhoenix(channel: Channel): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    channel
      .join()
      .receive('ok', (response: Record<string, unknown>) => resolve(response))
      .receive('error', (response: unknown) => reject(new Error(`join refused: ${JSON.stringify(response)}`)))
      .receive('timeout', () => reject(new Error('join timed out')));
  });
}

function pushPhoenix(channel: Channel, event: string, payload: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    channel
      .push(event, payload)
      .receive('ok', resolve)
      .receive('error', (response: unknown) => reject(new Error(JSON.stringify(response))))
      .receive('timeout', () => reject(new Error(`${event} timed out`)));
  });
}

describe('the official phoenix client', () => {
  it('connects with params.token, joins, and receives the replay then the live stream', async () => {
    fx = await startHub();
    const { channelId, topic, token, channel } = await openChannel(fx.hub);
    channel.publish('status', { status: 'processing', provider: 'mock', model: 'mock-1' });
    channel.publish('tokens', { delta: 'Once ' });
    channel.publish('tokens', { delta: 'upon ' });

    const phx = connectPhoenix(token).channel(topic, { last_seq: 0 });
    const seen: { event: string; payload: { seq: number; first_seq?: number; delta?: string } }[] = [];
    for (const event of ['status', 'tokens', 'tool_call']) {
      phx.on(event, (payload) => {
        seen.push({ event, payload });
      });
    }
    const done = new Promise<{ seq: number; content: string }>((resolve) => phx.on('response', resolve));

    const joined = await joinPhoenix(phx);
    expect(joined).toEqual({ last_seq: 3, resume_token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });

    for (const word of ['a ', 'time, ', 'there ', 'was ', 'a ', 'stream.']) channel.publish('tokens', { delta: word });
    channel.publish('tool_call', { index: 0, id: 'c1', name: 'f', arguments: '{}' });
    channel.publish('response', {
      status: 'success',
      channel_id: channelId,
      content: 'Once upon a time, there was a stream.',
      meta: {},
    });
    const response = await done;

    expect(response).toMatchObject({ seq: 11, content: 'Once upon a time, there was a stream.' });
    expect(seen[0]).toEqual({ event: 'status', payload: { seq: 1, status: 'processing', provider: 'mock', model: 'mock-1' } });
    expect(seen[1]).toEqual({ event: 'tokens', payload: { seq: 3, first_seq: 2, delta: 'Once upon ' } });
    let applied = 0;
    for (const { payload } of seen) {
      expect(payload.first_seq ?? payload.seq).toBe(applied + 1);
      applied = payload.seq;
    }
    expect(applied).toBe(10);
    const text = seen.filter((s) => s.event === 'tokens').map((s) => s.payload.delta).join('');
    expect(text).toBe(response.content);
  });

  it('gets its heartbeats answered, and can cancel and leave', async () => {
    fx = await startHub();
    const onCancel = vi.fn();
    const { topic, token } = await openChannel(fx.hub, onCancel);
    // phoenix closes its socket when a heartbeat is still unanswered as the next falls due, so an
    // interval shorter than a busy machine's event-loop stalls would break the link, not the hub.
    const phoenixSocket = connectPhoenix(token, { heartbeatIntervalMs: 500 });
    const heartbeatReplies = new Promise<void>((resolve) => {
      let count = 0;
      phoenixSocket.onMessage((raw) => {
        const message = raw as PhoenixMessage;
        if (message.topic === 'phoenix' && message.event === 'phx_reply' && message.payload.status === 'ok') {
          if (++count === 3) resolve();
        }
      });
    });
    const phx = phoenixSocket.channel(topic, {});
    await joinPhoenix(phx);
    await heartbeatReplies;
    expect(phoenixSocket.isConnected()).toBe(true);

    await pushPhoenix(phx, 'cancel', {});
    expect(onCancel).toHaveBeenCalledTimes(1);

    // phoenix resolves leave() locally at once (a leaving channel cannot push); wait for the
    // server's own reply to the phx_leave instead.
    const leaveReply = new Promise<{ status?: string }>((resolve) => {
      phoenixSocket.onMessage((raw) => {
        const message = raw as PhoenixMessage;
        if (message.topic === topic && message.event === 'phx_reply' && message.ref === leave.ref) resolve(message.payload);
      });
    });
    const leave = phx.leave() as unknown as { ref: string };
    expect(await leaveReply).toEqual({ status: 'ok', response: {} });
    expect(fx.hub.stats()).toMatchObject({ sockets: 1, joined: 0 });
  });
});
