// @vitest-environment jsdom
import { act, cleanup, render, waitFor } from '@testing-library/react';
import { version as domVersion } from 'react-dom';
import { version } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '@modelriver/client';
import type { ConnectOptions, KeyValueStorage } from '@modelriver/client';
import { useModelRiverChat } from '@modelriver/react';
import type { ChatMessage, SendPolicy, UseModelRiverChatResult } from '@modelriver/react';
import type { FakeChannel, FakeConnection, FakeGateway } from '@modelriver/test-utils';
import { autoFrames, clientOptions, snakeAck, startGateway } from './helpers.js';

const WAIT = { timeout: 10_000 };

afterEach(() => cleanup());

/** A backend stand-in: each start() creates a channel and answers the snake_case ack. */
function backend(gw: FakeGateway) {
  const channels: FakeChannel[] = [];
  const histories: ChatMessage[][] = [];
  /** Each channel's first join, awaited from its creation so that no join is missed. */
  const joins: Array<Promise<unknown>> = [];
  const start = async (messages: ChatMessage[]): Promise<ConnectOptions> => {
    histories.push(messages);
    const ch = gw.createChannel();
    channels.push(ch);
    joins.push(ch.waitForJoin(20_000).catch((error: unknown) => error));
    return snakeAck(gw, ch) as ConnectOptions;
  };
  return { start, channels, histories, joins };
}

function mountChat(start: (m: ChatMessage[]) => Promise<ConnectOptions>, policy?: SendPolicy, storage: KeyValueStorage = createMemoryStorage()) {
  const ref: { current: UseModelRiverChatResult | null } = { current: null };
  function Chat() {
    ref.current = useModelRiverChat({ ...clientOptions({ storage }), start, ...(policy ? { policy } : {}) });
    return null;
  }
  return { ref, view: render(<Chat />) };
}

const contents = (r: UseModelRiverChatResult | null) => r?.messages.map((m) => `${m.role}:${m.content}:${m.status ?? ''}`);

describe('useModelRiverChat', () => {
  it(`runs on React ${version} with the same react-dom`, () => {
    expect(domVersion).toBe(version);
  });

  it('send() adds the user message and streams the answer into its own assistant message', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    const { ref } = mountChat(be.start);
    await act(async () => {
      await ref.current?.send('Hi');
    });
    const ch = be.channels[0] as FakeChannel;
    await be.joins[0];
    expect(be.histories[0]?.map((m) => m.content)).toEqual(['Hi']);
    ch.tokens('Hel');
    await waitFor(() => expect(contents(ref.current)).toEqual(['user:Hi:', 'assistant:Hel:streaming']), WAIT);
    ch.tokens('lo');
    ch.respond({ status: 'success', meta: { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } } });
    await waitFor(() => expect(ref.current?.status).toBe('idle'), WAIT);
    expect(contents(ref.current)).toEqual(['user:Hi:', 'assistant:Hello:success']);
    expect(ref.current?.messages[1]?.metrics?.usage?.total_tokens).toBe(3);
  });

  it('queue (default): a second send waits for the answer, then asks with the whole history', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    const { ref } = mountChat(be.start);
    await act(async () => {
      await ref.current?.send('one');
    });
    await act(async () => {
      await ref.current?.send('two');
    });
    expect(be.channels).toHaveLength(1);
    const first = be.channels[0] as FakeChannel;
    await be.joins[0];
    await first.streamText('first answer');
    await waitFor(() => expect(be.channels).toHaveLength(2), WAIT);
    expect(be.histories[1]?.map((m) => `${m.role}:${m.content}`)).toEqual(['user:one', 'assistant:first answer', 'user:two']);
    const second = be.channels[1] as FakeChannel;
    await be.joins[1];
    await second.streamText('second answer');
    await waitFor(() => expect(ref.current?.status).toBe('idle'), WAIT);
    expect(contents(ref.current)).toEqual(['user:one:', 'assistant:first answer:success', 'user:two:', 'assistant:second answer:success']);
  });

  it('interrupt: a second send cancels the streaming answer on the gateway and starts the new one', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    const { ref } = mountChat(be.start, 'interrupt');
    await act(async () => {
      await ref.current?.send('one');
    });
    const first = be.channels[0] as FakeChannel;
    await be.joins[0];
    first.tokens('partial');
    await waitFor(() => expect(ref.current?.messages[1]?.content).toBe('partial'), WAIT);
    await act(async () => {
      await ref.current?.send('two');
    });
    await waitFor(() => expect(first.ended).toBe('cancelled'), WAIT);
    const second = be.channels[1] as FakeChannel;
    await be.joins[1];
    await second.streamText('new');
    await waitFor(() => expect(ref.current?.status).toBe('idle'), WAIT);
    expect(contents(ref.current)).toEqual(['user:one:', 'assistant:partial:cancelled', 'user:two:', 'assistant:new:success']);
  });

  it('reject: a second send while streaming throws busy', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    const { ref } = mountChat(be.start, 'reject');
    await act(async () => {
      await ref.current?.send('one');
    });
    await expect(ref.current?.send('two')).rejects.toMatchObject({ code: 'busy' });
    await expect(ref.current?.send('   ')).rejects.toMatchObject({ code: 'invalid_options' });
    expect(be.channels).toHaveLength(1);
  });

  it('stop() cancels on the gateway (not just a local disconnect) and the answer ends cancelled', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    const { ref } = mountChat(be.start);
    await act(async () => {
      await ref.current?.send('one');
    });
    const ch = be.channels[0] as FakeChannel;
    await be.joins[0];
    ch.tokens('so far');
    await waitFor(() => expect(ref.current?.messages[1]?.content).toBe('so far'), WAIT);
    await act(async () => {
      await ref.current?.stop();
    });
    await waitFor(() => expect(ref.current?.messages[1]?.status).toBe('cancelled'), WAIT);
    expect(ch.ended).toBe('cancelled');
    expect(gw.received.some((f) => f.frame?.[3] === 'cancel')).toBe(true);
    expect(ref.current?.status).toBe('idle');
  });

  it('a failed start() sets status error; retry() asks again', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    let fail = true;
    const { ref } = mountChat(async (m) => {
      if (fail) throw new Error('backend down');
      return be.start(m);
    });
    await act(async () => {
      await ref.current?.send('one');
    });
    expect(ref.current?.status).toBe('error');
    expect(ref.current?.error?.code).toBe('start_failed');
    fail = false;
    await act(async () => {
      await ref.current?.retry();
    });
    const ch = be.channels[0] as FakeChannel;
    await be.joins[0];
    await ch.streamText('ok');
    await waitFor(() => expect(contents(ref.current)).toEqual(['user:one:', 'assistant:ok:success']), WAIT);
  });

  it('messages survive a reload while the last answer streams: its text at first paint, then the rest', async () => {
    autoFrames();
    const gw = await startGateway();
    const be = backend(gw);
    const storage = createMemoryStorage();
    const first = mountChat(be.start, undefined, storage);
    await act(async () => {
      await first.ref.current?.send('question');
    });
    const ch = be.channels[0] as FakeChannel;
    const conn = (await be.joins[0]) as FakeConnection;
    ch.tokens('The answer ');
    await waitFor(() => expect(first.ref.current?.messages[1]?.content).toBe('The answer '), WAIT);
    const closed = conn.waitForClose();
    first.view.unmount();
    await closed;
    ch.tokens('goes on.');

    const painted: string[][] = [];
    function Reloaded() {
      const chat = useModelRiverChat({ ...clientOptions({ storage }), start: be.start });
      painted.push(chat.messages.map((m) => m.content));
      return null;
    }
    const rejoined = ch.waitForJoin();
    render(<Reloaded />);
    expect(painted[0]).toEqual(['question', 'The answer ']);
    await rejoined;
    ch.respond({ status: 'success', content: undefined });
    await waitFor(() => expect(painted.at(-1)).toEqual(['question', 'The answer goes on.']), WAIT);
  });
});
