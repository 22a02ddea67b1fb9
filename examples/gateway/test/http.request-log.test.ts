import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { stringForPattern } from '../src/providers/mock-pattern.js';
import { api, joinAck, startAsync } from './e2e.helpers.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const logOf = async (channelId: string) => (await api(gw!, `/v1/requests/${channelId}`)).body;

describe('the request log says what the wire says', () => {
  it('logs a failover as status:failover, like the status event', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat-failover', 'log the failover');
    const channel = await joinAck(ack);
    await channel.terminal();
    const wire = channel.events.find((e) => e.event === 'status' && e.payload['status'] === 'failover');
    await channel.close();
    const log = await logOf(ack.channel_id);
    const entry = log.timeline.find((t: { event: string }) => t.event === 'status:failover');
    expect(entry).toMatchObject({ provider: 'mock-secondary', attempt: 2, reason: 'provider_unavailable' });
    expect(wire?.payload).toMatchObject({ provider: entry.provider, attempt: entry.attempt, reason: entry.reason });
    expect(log.timeline.filter((t: { event: string }) => t.event === 'status:processing')).toHaveLength(1);
    expect(log.timeline.some((t: Record<string, unknown>) => 'failover' in t)).toBe(false);
  });

  it('marks the callback cancelled when the channel is cancelled while waiting for it', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat-event', 'cancel the wait');
    const channel = await joinAck(ack);
    await channel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');
    await channel.push('cancel', {});
    expect((await channel.terminal()).status).toBe('cancelled');
    await channel.close();
    const log = await logOf(ack.channel_id);
    expect(log.status).toBe('cancelled');
    expect(log.callback).toMatchObject({ status: 'cancelled', received_at: null });
  });

  it('holds the final response body: content and data', async () => {
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
    const ack = await startAsync(gw, 'chat-structured', 'I love this product');
    const channel = await joinAck(ack);
    const final = await channel.terminal();
    await channel.close();
    const log = await logOf(ack.channel_id);
    expect(log.content).toBe(final.content);
    expect(log.data).toEqual(final.data);
    expect(log.data).toMatchObject({ sentiment: 'positive' });

    const event = await startAsync(gw, 'chat-event', 'callback data');
    const eventChannel = await joinAck(event);
    await eventChannel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');
    await api(gw, `/v1/callback/${event.channel_id}`, { data: { ticket: 42 } });
    const completed = await eventChannel.terminal();
    await eventChannel.close();
    const eventLog = await logOf(event.channel_id);
    expect(eventLog.status).toBe('completed');
    expect(eventLog.data).toEqual({ ticket: 42 });
    expect(eventLog.content).toBe(completed.content);
  });
});

describe('workflows in the config file', () => {
  it('refuses unknown keys inside a workflow, like unknown top-level settings', async () => {
    const schema = { type: 'object' };
    await expect(startGateway({ port: 0, workflows: { typo: { providers: [{ type: 'mock' }], schemaa: schema } as never } })).rejects.toThrow(
      /workflows\.typo: unknown workflow setting "schemaa"/,
    );
    await expect(
      startGateway({ port: 0, workflows: { typo: { providers: [{ type: 'openai-compatible', baseUrl: 'http://127.0.0.1:1', model: 'm', apikey: 'x' }] } as never } }),
    ).rejects.toThrow(ConfigError);
    await expect(
      startGateway({ port: 0, workflows: { typo: { providers: [{ type: 'mock' }], tools: [{ name: 't', parameters: {}, params: {} }] } as never } }),
    ).rejects.toThrow(/unknown tool setting "params"/);
  });

  it("has the mock satisfy a schema's pattern", async () => {
    const schema = {
      type: 'object',
      additionalProperties: false,
      required: ['ticket', 'version', 'color'],
      properties: {
        ticket: { type: 'string', pattern: '^[A-Z]{3}-\\d{4}$' },
        version: { type: 'string', pattern: '^v\\d+\\.\\d+(\\.\\d+)?$' },
        color: { type: 'string', pattern: '^#[0-9a-f]{6}$' },
      },
    };
    gw = await startGateway({ port: 0, mockTokenDelayMs: 0, structuredOutputRetries: 0, workflows: { patterned: { providers: [{ type: 'mock' }], schema } } });
    const answer = await api(gw, '/v1/ai', { workflow: 'patterned', messages: [{ role: 'user', content: 'open a ticket' }] });
    expect(answer.body.status).toBe('success');
    expect(answer.body.data.ticket).toMatch(/^[A-Z]{3}-\d{4}$/);
    expect(answer.body.data.version).toMatch(/^v\d+\.\d+(\.\d+)?$/);
  });

  it('generates strings for common pattern syntax and gives up (null) on what it cannot cover', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const pattern of ['^(foo|bar)+$', '[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}', '^\\+?[1-9]\\d{1,14}$', '^[^\\s]{3,5}$', 'x*y?z{2}']) {
      for (let i = 0; i < 20; i++) expect(stringForPattern(pattern, random)).toMatch(new RegExp(pattern, 'u'));
    }
    expect(stringForPattern('^(?=a)b', random)).toBeNull(); // lookahead
    expect(stringForPattern('^(a)\\1$', random)).toBeNull(); // backreference
    expect(stringForPattern('^\\p{L}+$', random)).toBeNull(); // Unicode property
    expect(stringForPattern('[', random)).toBeNull(); // not a regular expression
  });
});
