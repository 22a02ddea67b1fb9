/**
 * In-memory stand-ins for the hub and the webhook dispatcher, so the runner can be tested without
 * sockets and with fake timers.
 */
import type { ServerEventMap, ServerEventName } from '@modelriver/client';
import type { WebhookEvent } from '@modelriver/node';
import type { ChannelHandle, ChannelHub } from '../src/channels/types.js';
import type { WebhookDelivery, WebhookDispatcher } from '../src/webhooks/types.js';

export interface PublishedEvent {
  event: ServerEventName;
  payload: Record<string, any>;
}

export interface FakeChannel extends ChannelHandle {
  events: PublishedEvent[];
  finished: boolean;
  cancel(): void;
  text(): string;
  response(): Record<string, any> | undefined;
}

/** `stored`: what `adopt` finds, as if another node had published these events before it died. */
export function createFakeHub(stored = new Map<string, PublishedEvent[]>()): ChannelHub & { channels: Map<string, FakeChannel> } {
  const channels = new Map<string, FakeChannel>();
  const hub: ChannelHub & { channels: Map<string, FakeChannel> } = {
    channels,
    open(channelId, hooks) {
      const events: PublishedEvent[] = [];
      const channel: FakeChannel = {
        channelId,
        topic: `ai_response:p:${channelId}`,
        get lastSeq() {
          return events.length;
        },
        events,
        finished: false,
        publish<K extends ServerEventName>(event: K, payload: Omit<ServerEventMap[K], 'seq'>): number {
          if (channel.finished) throw new Error('publish after finish');
          events.push({ event, payload: { ...payload, seq: events.length + 1 } });
          return events.length;
        },
        finish() {
          channel.finished = true;
        },
        release() {},
        cancelRequested: false,
        history: () => events.map((e, i) => ({ seq: i + 1, event: e.event, payload: e.payload })),
        cancel: () => hooks.onCancel(),
        text: () => events.filter((e) => e.event === 'tokens').map((e) => e.payload['delta']).join(''),
        response: () => [...events].reverse().find((e) => e.event === 'response')?.payload,
      };
      channels.set(channelId, channel);
      return channel;
    },
    get: (id) => channels.get(id),
    describe: async (id) => (channels.has(id) ? { channelId: id, topic: `ai_response:fake:${id}` } : undefined),
    async adopt(channelId, hooks) {
      const events = stored.get(channelId);
      if (events === undefined) return undefined;
      const channel = hub.open(channelId, hooks) as FakeChannel;
      channel.events.push(...events.map((e) => ({ event: e.event, payload: { ...e.payload } })));
      return channel;
    },
    issueToken: async (id) => `token-${id}`,
    attach() {},
    async close() {},
    stats: () => ({ sockets: 0, channels: channels.size }),
  };
  return hub;
}

export function createFakeDispatcher(): WebhookDispatcher & { sent: Array<{ url: string; channelId: string; body: WebhookEvent }> } {
  const sent: Array<{ url: string; channelId: string; body: WebhookEvent }> = [];
  return {
    sent,
    deliver(input) {
      sent.push(input);
      const delivery: WebhookDelivery = { id: input.body.id, url: input.url, channelId: input.channelId, type: input.body.type, state: 'pending', attempts: [] };
      return delivery;
    },
    queued: async (id) => sent.some((input) => input.body.id === id),
    deadLetters: async () => [],
    replay: async () => undefined,
    get: async () => undefined,
    async close() {},
  };
}
