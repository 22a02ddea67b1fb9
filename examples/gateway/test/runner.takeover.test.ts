/**
 * The runner's side of a node dying (issue 12): its lease is held until the terminal webhook is
 * in the queue, and a node taking a request over sends any webhook the dead node may not have
 * queued, under the same id, so the queue keeps it once.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../src/logger.js';
import { createMockProvider } from '../src/providers/mock.js';
import type { RunCoordinator, RunSpec } from '../src/runner/coordinator.js';
import { RequestStore } from '../src/runner/request-store.js';
import { Runner } from '../src/runner/runner.js';
import { systemTimers } from '../src/timers.js';
import type { Workflow } from '../src/workflows.js';
import { createFakeDispatcher, createFakeHub, type PublishedEvent } from './runner.fakes.js';

const HOOK = 'http://hooks.test/x';

/** Records what the runner tells it: the specs, and the ids it ended in order. */
function recordingCoordinator(): RunCoordinator & { specs: Map<string, RunSpec>; endedIds: string[] } {
  const specs = new Map<string, RunSpec>();
  const endedIds: string[] = [];
  return {
    specs,
    endedIds,
    bind() {},
    started: async (spec) => void specs.set(spec.channelId, structuredClone(spec)),
    updated: (spec) => void specs.set(spec.channelId, structuredClone(spec)),
    ended: (channelId) => void endedIds.push(channelId),
    routeCallback: async () => false,
    close: async () => {},
  };
}

function node(options: { stored?: Map<string, PublishedEvent[]>; event?: string } = {}) {
  const hub = createFakeHub(options.stored);
  const dispatcher = createFakeDispatcher();
  const coordinator = recordingCoordinator();
  const store = new RequestStore(60_000, () => Date.now());
  const workflow: Workflow = {
    name: 'takeover',
    description: '',
    providers: [createMockProvider({ tokenDelayMs: 0 })],
    schema: null,
    validate: null,
    event: options.event ?? null,
    tools: [],
  };
  const runner = new Runner({
    hub,
    dispatcher,
    store,
    coordinator,
    workflows: new Map([[workflow.name, workflow]]),
    stallTimeoutMs: 10_000,
    callbackTimeoutMs: 300_000,
    structuredOutputRetries: 0,
    timers: systemTimers,
    now: () => Date.now(),
    logger: quietLogger,
  });
  const start = (webhookUrl: string | null) => {
    const id = randomUUID();
    const started = runner.start(id, { workflow, messages: [{ role: 'user', content: 'hi' }], metadata: { m: 1 }, webhookUrl, events: [] }, 'async', 'http://gw.test');
    return { id, channel: hub.channels.get(id)!, ...started };
  };
  return { hub, dispatcher, coordinator, store, runner, start };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A webhook body without the moment it was built. */
const withoutTimestamp = (body: object) => ({ ...body, timestamp: undefined });

describe('a request and its lease', () => {
  it('keeps the lease until the terminal webhook is queued', async () => {
    const a = node();
    let queued!: (ok: boolean) => void;
    a.dispatcher.queued = () => new Promise((resolve) => (queued = resolve));
    const { id, firstResponse } = a.start(HOOK);
    await firstResponse;
    await settle();
    expect(a.dispatcher.sent.map((s) => s.body.type)).toEqual(['task.completed']);
    // A node dying now leaves the request to another, which then sends the webhook.
    expect(a.coordinator.endedIds).toEqual([]);
    queued(true);
    await settle();
    expect(a.coordinator.endedIds).toEqual([id]);
  });

  it('ends the lease at once when there is no webhook to send', async () => {
    const a = node();
    const { id, firstResponse } = a.start(null);
    await firstResponse;
    expect(a.coordinator.endedIds).toEqual([id]);
  });
});

describe('taking over a request', () => {
  it('whose node died after its terminal response: the same webhook, under the same id, seq and meta', async () => {
    const a = node();
    const { id, channel, firstResponse } = a.start(HOOK);
    await firstResponse;
    const spec = a.coordinator.specs.get(id)!;

    const b = node({ stored: new Map([[id, channel.events]]) });
    await b.runner.takeOver(spec);
    expect(b.dispatcher.sent).toHaveLength(1);
    const [sentByA] = a.dispatcher.sent;
    const [sentByB] = b.dispatcher.sent;
    expect(withoutTimestamp(sentByB!.body)).toEqual(withoutTimestamp(sentByA!.body));
    expect(sentByB!.body).toMatchObject({ type: 'task.completed', last_seq: channel.response()!['seq'] });
    await settle();
    expect(b.coordinator.endedIds).toEqual([id]);
    // Nothing was published again: the readers already have their one response.
    expect(b.hub.channels.get(id)!.events).toHaveLength(channel.events.length);
  });

  it('that waited for its callback: the task.ai_generated webhook again, same id', async () => {
    const a = node({ event: 'enrich' });
    const { id, channel, firstResponse } = a.start(HOOK);
    await firstResponse;
    const spec = a.coordinator.specs.get(id)!;
    expect(spec.callbackDeadline).toBeTypeOf('number');

    const b = node({ stored: new Map([[id, channel.events]]), event: 'enrich' });
    await b.runner.takeOver(spec);
    expect(b.dispatcher.sent.map((s) => s.body.type)).toEqual(['task.ai_generated']);
    expect(withoutTimestamp(b.dispatcher.sent[0]!.body)).toEqual(withoutTimestamp(a.dispatcher.sent[0]!.body));
    await b.runner.close();
  });

  it('whose webhook the request log shows delivered: nothing sent again', async () => {
    const a = node();
    const { id, channel, firstResponse, record } = a.start(HOOK);
    await firstResponse;
    const spec = a.coordinator.specs.get(id)!;
    record.webhookState(a.dispatcher.sent[0]!.body.id, 'delivered');

    const b = node({ stored: new Map([[id, channel.events]]) });
    b.store.read = async () => record.toStored();
    await b.runner.takeOver(spec);
    expect(b.dispatcher.sent).toEqual([]);
    expect(b.coordinator.endedIds).toEqual([id]);
  });
});
