/**
 * The benchmark's FakeGateway, in its own process so the parent's
 * `process.cpuUsage()` counts the client under test and nothing of the server.
 * Protocol over IPC: the parent sends `{type: 'channel', events}`, gets back
 * the connect options; when the client joins, the child emits `events` tokens
 * as fast as it can, then a success response.
 */
import { FakeGateway } from '../../packages/test-utils/src/index.js';

/** A request from the parent. */
export interface ChannelRequest {
  type: 'channel';
  events: number;
}

/** The answer: what a client needs to connect. */
export interface ChannelReady {
  type: 'channel';
  channelId: string;
  wsToken: string;
  websocketUrl: string;
  topic: string;
}

// ~4-character deltas, varied so nothing downstream can special-case one string.
const DELTAS = ['The ', 'quic', 'k br', 'own ', 'fox ', 'jump', 's ov', 'er t', 'he l', 'azy '];

const gw = await FakeGateway.start({ recordSent: false, mergeReplayTokens: false, coalesceSends: true });

process.on('message', (message: ChannelRequest) => {
  if (message.type !== 'channel') return;
  const ch = gw.createChannel();
  // Frames are encoded before the join (all but the join_ref, which the client
  // picks), so the burst costs the server little more than the socket writes
  // and the consumer, not the fake, sets the pace.
  const tail = `,null,${JSON.stringify(ch.topic)},"tokens",`;
  const frames: string[] = new Array<string>(message.events);
  let text = '';
  for (let i = 0; i < message.events; i += 1) {
    const delta = DELTAS[i % DELTAS.length] ?? 'x';
    text += delta;
    frames[i] = `${tail}${JSON.stringify({ seq: i + 1, delta })}]`;
  }
  const response = { seq: message.events + 1, status: 'success', channel_id: ch.channelId, meta: {}, content: text };
  ch.onJoin = (connection, { joinRef }) => {
    ch.onJoin = null;
    const head = `[${JSON.stringify(joinRef)}`;
    for (const frame of frames) connection.inject(head + frame);
    connection.send([joinRef, null, ch.topic, 'response', response]);
  };
  const ready: ChannelReady = { type: 'channel', channelId: ch.channelId, wsToken: ch.wsToken, websocketUrl: gw.url, topic: ch.topic };
  process.send?.(ready);
});

process.on('disconnect', () => {
  void gw.close().then(() => process.exit(0));
});
process.send?.({ type: 'ready' });
