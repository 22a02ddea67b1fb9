import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig } from '../src/config.js';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { api, ask, joinAck, startAsync, startReceiver, until, type Receiver } from './e2e.helpers.js';

const TEAM_B = '7d1f4c3a-2b6e-4f8a-9c0d-1e2f3a4b5c6d';
const TEAM_B_KEY = 'mr_test_team_b_key';
const TEAM_B_SECRET = 'whsec_dGVhbS1iLXNpZ25pbmctc2VjcmV0';
const UNKNOWN = '3f0a6a4e-8c1d-4a43-9d59-0b8a3c2f1e77';

let gw: RunningGateway | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await gw?.close();
  await receiver?.close();
  gw = undefined;
  receiver = undefined;
});

const asB = { apiKey: TEAM_B_KEY };

function startTwoProjects(extra: Parameters<typeof startGateway>[0] = {}): Promise<RunningGateway> {
  return startGateway({ port: 0, mockTokenDelayMs: 0, projects: [{ id: TEAM_B, name: 'team-b', apiKeys: [TEAM_B_KEY], webhookSecret: TEAM_B_SECRET }], ...extra });
}

describe('projects', () => {
  it('gives each key its project: the ack, the topic and the log carry it', async () => {
    gw = await startTwoProjects();
    expect(gw.projects.map((p) => p.id)).toEqual([gw.projectId, TEAM_B]);
    const ack = (await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('team b') }, asB)).body;
    expect(ack.project_id).toBe(TEAM_B);
    expect(ack.websocket_channel).toBe(`ai_response:${TEAM_B}:${ack.channel_id}`);
    const channel = await joinAck(ack as never);
    expect((await channel.terminal()).status).toBe('success');
    await channel.close();
    const log = await api(gw, `/v1/requests/${ack.channel_id}`, undefined, asB);
    expect(log.status).toBe(200);
    expect(log.body.project_id).toBe(TEAM_B);
  });

  it("answers another project's request log, reconnect and callback with 404, exactly as for an unknown channel", async () => {
    gw = await startTwoProjects();
    const ack = await startAsync(gw, 'chat-event', 'default project only');
    const channel = await joinAck(ack);
    await channel.waitFor((e) => e.event === 'status' && e.payload['status'] === 'awaiting_callback');

    const foreignLog = await api(gw, `/v1/requests/${ack.channel_id}`, undefined, asB);
    const unknownLog = await api(gw, `/v1/requests/${UNKNOWN}`, undefined, asB);
    expect(foreignLog.status).toBe(404);
    expect(foreignLog.body.error.code).toBe(unknownLog.body.error.code);
    expect(foreignLog.body.error.message).toBe(unknownLog.body.error.message.replace(UNKNOWN, ack.channel_id));

    const foreignToken = await api(gw, '/v1/ai/reconnect', { channel_id: ack.channel_id }, asB);
    expect(foreignToken.status).toBe(404);
    expect(foreignToken.body.error.code).toBe('not_found');

    const foreignCallback = await api(gw, `/v1/callback/${ack.channel_id}`, { data: { hijacked: true } }, asB);
    expect(foreignCallback.status).toBe(404);

    // The owner still can do all of it.
    expect((await api(gw, `/v1/requests/${ack.channel_id}`)).body.status).toBe('awaiting_callback');
    expect((await api(gw, '/v1/ai/reconnect', { channel_id: ack.channel_id })).status).toBe(200);
    expect((await api(gw, `/v1/callback/${ack.channel_id}`, { data: { ok: true } })).status).toBe(200);
    expect((await channel.terminal()).status).toBe('completed');
    await channel.close();
  });

  it("keeps dead letters per project and signs a project's webhooks with its own secret", async () => {
    gw = await startTwoProjects({ webhookRetryScheduleMs: [] });
    receiver = await startReceiver();
    receiver.status = 503;
    const ack = (await api(gw, '/v1/ai/async', { workflow: 'chat', messages: ask('b hook'), webhook_url: receiver.url }, asB)).body;
    const hook = await receiver.waitFor((h) => h.body['channel_id'] === ack.channel_id);
    const headers = { 'webhook-id': String(hook.headers['webhook-id']), 'webhook-timestamp': String(hook.headers['webhook-timestamp']), 'webhook-signature': String(hook.headers['webhook-signature']) };
    expect(() => new Webhook(TEAM_B_SECRET).verify(hook.raw, headers)).not.toThrow();
    expect(() => new Webhook(gw!.webhookSecret).verify(hook.raw, headers)).toThrow();

    const dead = await until(async () => (await api(gw!, '/v1/webhooks/dead-letters', undefined, asB)).body.dead_letters[0]);
    expect(dead.channel_id).toBe(ack.channel_id);
    expect((await api(gw, '/v1/webhooks/dead-letters')).body.dead_letters).toEqual([]);
    expect((await api(gw, `/v1/webhooks/dead-letters/${dead.id}/replay`, undefined, { method: 'POST' })).status).toBe(404);
    expect((await api(gw, `/v1/webhooks/dead-letters/${dead.id}/replay`, undefined, { method: 'POST', ...asB })).status).toBe(202);
  });

  it('validates projects: UUID ids, unique ids, a key in one project only, no unknown settings', () => {
    const base = { apiKey: 'mr_test_default_key' };
    expect(() => resolveConfig({ ...base, projects: [{ id: 'team-b', apiKeys: [TEAM_B_KEY] }] })).toThrow(/projects\[0\]\.id must be a UUID/);
    expect(() => resolveConfig({ ...base, projects: [{ id: TEAM_B, apiKeys: [] }] })).toThrow(ConfigError);
    expect(() => resolveConfig({ ...base, projects: [{ id: TEAM_B, apiKeys: ['mr_test_default_key'] }] })).toThrow(/one project only/);
    expect(() =>
      resolveConfig({ ...base, projects: [{ id: TEAM_B, apiKeys: [TEAM_B_KEY] }, { id: TEAM_B, apiKeys: ['mr_test_other_key'] }] }),
    ).toThrow(/already used/);
    expect(() => resolveConfig({ ...base, projects: [{ id: TEAM_B, apiKeys: [TEAM_B_KEY], keys: [] } as never] })).toThrow(/unknown setting "keys"/);
  });
});
