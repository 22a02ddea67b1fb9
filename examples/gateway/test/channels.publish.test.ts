import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { ChannelHubError, createChannelHub, type ChannelHub } from '../src/channels/index.js';
import { EventLog } from '../src/channels/log.js';
import { PROJECT_ID } from './channels.harness.js';

let hub: ChannelHub | undefined;
afterEach(async () => {
  await hub?.close();
  hub = undefined;
});

const code = (c: string) => expect.objectContaining({ name: 'ChannelHubError', code: c });

describe('creating a hub and opening channels', () => {
  it('refuses a project id that is not a UUID', () => {
    expect(() => createChannelHub({ projectId: 'proj' })).toThrow(code('invalid_project_id'));
  });

  it.each([
    ['tokenTtlMs', 0],
    ['highWaterMark', -1],
    ['hardCap', Number.NaN],
    ['sweepIntervalMs', Number.POSITIVE_INFINITY],
    ['maxMergedChars', 0],
  ])('refuses %s = %s', (name, value) => {
    expect(() => createChannelHub({ projectId: PROJECT_ID, [name]: value })).toThrow(code('invalid_option'));
  });

  it('opens channels by UUID only, once each, with their topic', () => {
    hub = createChannelHub({ projectId: PROJECT_ID });
    const channelId = randomUUID();
    const channel = hub.open(channelId, { onCancel() {} });
    expect(channel.topic).toBe(`ai_response:${PROJECT_ID}:${channelId}`);
    expect(channel.channelId).toBe(channelId);
    expect(hub.get(channelId)).toBe(channel);
    expect(() => hub!.open(channelId, { onCancel() {} })).toThrow(code('channel_exists'));
    expect(() => hub!.open('chan-1', { onCancel() {} })).toThrow(code('invalid_channel_id'));
    expect(() => hub!.open(randomUUID(), {} as { onCancel: () => void })).toThrow(code('invalid_option'));
    expect(hub.stats()).toMatchObject({ channels: 1, sockets: 0 });
  });

  it('refuses everything once closed', async () => {
    hub = createChannelHub({ projectId: PROJECT_ID });
    const channelId = randomUUID();
    hub.open(channelId, { onCancel() {} });
    await hub.close();
    expect(() => hub!.open(randomUUID(), { onCancel() {} })).toThrow(code('hub_closed'));
    await expect(hub!.issueToken(channelId)).rejects.toThrow(code('hub_closed'));
  });
});

describe('publish', () => {
  it('assigns seq 1, 2, 3… and puts it in the payload', () => {
    hub = createChannelHub({ projectId: PROJECT_ID });
    const channel = hub.open(randomUUID(), { onCancel() {} });
    expect(channel.lastSeq).toBe(0);
    expect(channel.publish('status', { status: 'queued' })).toBe(1);
    expect(channel.publish('tokens', { delta: 'a' })).toBe(2);
    // A caller-supplied seq (or first_seq) cannot override the hub's numbering.
    expect(channel.publish('tokens', { delta: 'b', seq: 99, first_seq: 1 } as { delta: string })).toBe(3);
    expect(channel.lastSeq).toBe(3);
  });

  it('refuses bad events and payloads with a typed error, leaving no seq gap', () => {
    hub = createChannelHub({ projectId: PROJECT_ID });
    const channel = hub.open(randomUUID(), { onCancel() {} });
    const loose = channel as unknown as { publish(event: string, payload: unknown): number };
    expect(() => loose.publish('shout', {})).toThrow(code('invalid_event'));
    expect(() => loose.publish('tokens', null)).toThrow(code('invalid_payload'));
    expect(() => loose.publish('tokens', ['a'])).toThrow(code('invalid_payload'));
    expect(() => loose.publish('tokens', 'a')).toThrow(code('invalid_payload'));
    expect(() => loose.publish('tokens', { delta: 3 })).toThrow(code('invalid_payload'));
    expect(() => loose.publish('status', { status: 'queued', big: 1n })).toThrow(code('invalid_payload'));
    const cyclic: Record<string, unknown> = { status: 'queued' };
    cyclic.self = cyclic;
    expect(() => loose.publish('status', cyclic)).toThrow(ChannelHubError);
    expect(channel.lastSeq).toBe(0);
    expect(channel.publish('tokens', { delta: 'ok' })).toBe(1);
  });
});

describe('EventLog.append and EventLog.at (live framing)', () => {
  it('numbers events from 1 and encodes each one alone, tokens included', () => {
    const log = new EventLog();
    expect(log.append('tokens', { delta: 'a"' })).toBe(1);
    expect(log.append('tokens', { delta: 'b' })).toBe(2);
    expect(log.append('status', { status: 'processing', seq: 99 })).toBe(3);
    expect(log.at(1)).toEqual({ seq: 1, event: 'tokens', json: '{"seq":1,"delta":"a\\""}' });
    expect(log.at(2)).toEqual({ seq: 2, event: 'tokens', json: '{"seq":2,"delta":"b"}' });
    expect(log.at(3)).toEqual({ seq: 3, event: 'status', json: '{"seq":3,"status":"processing"}' });
    expect(log.at(0)).toBeUndefined();
    expect(log.at(4)).toBeUndefined();
  });
});

describe('EventLog.next (replay and catch-up framing)', () => {
  it('merges a run of tokens into {seq: last, first_seq: first, delta: joined}', () => {
    const log = new EventLog();
    log.append('tokens', { delta: 'a' });
    log.append('tokens', { delta: 'b' });
    log.append('status', { status: 'processing' });
    expect(log.next(0, 100)).toEqual({ seq: 2, event: 'tokens', json: '{"seq":2,"first_seq":1,"delta":"ab"}' });
    expect(log.next(1, 100)).toMatchObject({ seq: 2, json: '{"seq":2,"delta":"b"}' });
    expect(log.next(2, 100)).toMatchObject({ seq: 3, event: 'status' });
    expect(log.next(3, 100)).toBeUndefined();
  });

  it('caps a merged delta at maxMergedChars, but sends a longer single token whole', () => {
    const log = new EventLog();
    for (const delta of ['aaaa', 'bbbb', 'cccccccccc', 'd']) log.append('tokens', { delta });
    expect(JSON.parse(log.next(0, 8)!.json)).toEqual({ seq: 2, first_seq: 1, delta: 'aaaabbbb' });
    expect(JSON.parse(log.next(2, 8)!.json)).toEqual({ seq: 3, delta: 'cccccccccc' });
    expect(JSON.parse(log.next(3, 8)!.json)).toEqual({ seq: 4, delta: 'd' });
  });

  it('covers every seq after any starting point exactly once, in order, text intact (property)', () => {
    const eventArb = fc.oneof(
      fc.record({ event: fc.constant('tokens' as const), delta: fc.string({ maxLength: 12, unit: 'grapheme' }) }),
      fc.record({ event: fc.constant('status' as const), delta: fc.constant('') }),
    );
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 60 }), fc.nat(), fc.integer({ min: 1, max: 40 }), (events, startRaw, cap) => {
        const log = new EventLog();
        for (const e of events) {
          if (e.event === 'tokens') log.append('tokens', { delta: e.delta });
          else log.append('status', { status: 'processing' });
        }
        const start = events.length === 0 ? 0 : startRaw % (events.length + 1);
        let after = start;
        let text = '';
        for (let next = log.next(after, cap); next !== undefined; next = log.next(after, cap)) {
          const payload = JSON.parse(next.json) as { seq: number; first_seq?: number; delta?: string };
          expect(payload.first_seq ?? payload.seq).toBe(after + 1);
          expect(payload.seq).toBe(next.seq);
          if (next.event === 'tokens') text += payload.delta;
          after = next.seq;
        }
        expect(after).toBe(Math.max(start, events.length));
        const expected = events.slice(start).reduce((acc, e) => acc + (e.event === 'tokens' ? e.delta : ''), '');
        expect(text).toBe(expected);
      }),
    );
  });
});
