import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelRiverClient, type AIResponse } from '@modelriver/client';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { mockOutput } from '../src/providers/mock.js';
import { ask, startAsync } from './e2e.helpers.js';

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 1 });
});
afterAll(() => gw.close());

function run(client: ModelRiverClient, ack: Awaited<ReturnType<typeof startAsync>>): Promise<AIResponse> {
  return new Promise((resolve) => {
    client.on('response', (response) => {
      if (response.status !== 'ai_generated') resolve(response);
    });
    client.connect({ channelId: ack.channel_id, wsToken: ack.ws_token, websocketUrl: ack.websocket_url, websocketChannel: ack.websocket_channel });
  });
}

describe('@modelriver/client against the reference gateway', () => {
  it('streams a failover answer into one continuous text', async () => {
    const client = new ModelRiverClient({ WebSocket: WebSocket as never, persist: false });
    const ack = await startAsync(gw, 'chat-failover', 'client failover');
    const response = await run(client, ack);
    expect(response.status).toBe('success');
    expect(client.getState().text).toBe(response.content);
    expect(response.content).toBe(mockOutput({ messages: ask('client failover') }));
    client.destroy();
  });

  it('assembles the streamed tool call', async () => {
    const client = new ModelRiverClient({ WebSocket: WebSocket as never, persist: false });
    const ack = await startAsync(gw, 'chat-tools', 'weather in Madrid');
    await run(client, ack);
    const [call] = client.getState().toolCalls;
    expect(call).toMatchObject({ index: 0, name: 'get_weather', arguments: { city: 'Madrid' } });
    client.destroy();
  });
});
