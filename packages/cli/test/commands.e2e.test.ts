/**
 * `trigger`, `watch`, `logs`, `workflows`, `dead-letters` and every bad input, in-process against
 * the reference gateway on port 0.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway, type GatewayConfig, type RunningGateway } from '../../../examples/gateway/src/gateway.js';
import { startCli } from './cli.helpers.js';

let gw: RunningGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

async function start(overrides: Partial<GatewayConfig> = {}): Promise<RunningGateway> {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0, mockTokens: 4, ...overrides });
  return gw;
}

const envOf = (g: RunningGateway) => ({ MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: g.url });

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe('trigger, watch, logs', () => {
  it('trigger prints the channel details; --watch streams it to the final response', async () => {
    const g = await start();
    const cli = startCli(['trigger', '--workflow', 'chat-failover', '--message', 'Hi', '--watch'], envOf(g));
    expect(await cli.exit).toBe(0);
    const out = cli.stdout.join('\n');
    for (const field of ['channel_id', 'project_id', 'websocket_url', 'websocket_channel', 'status']) expect(out).toMatch(new RegExp(`^${field}\\s+\\S+`, 'm'));
    expect(out).toMatch(/^status\s+pending$/m);
    expect(out).toMatch(/^· failover/m);
    expect(out).toMatch(/^response success · \S+ · /m);
  });

  it('trigger --json --watch: one JSON object per line, the channel first and the response last', async () => {
    const g = await start();
    const cli = startCli(['trigger', '--workflow', 'chat', '--watch', '--json'], envOf(g));
    expect(await cli.exit).toBe(0);
    const records = cli.stdout.filter(Boolean).map((l) => JSON.parse(l) as { type: string; status?: string });
    expect(records[0]).toMatchObject({ type: 'channel', status: 'pending' });
    expect(records.some((r) => r.type === 'tokens')).toBe(true);
    expect(records.at(-1)).toMatchObject({ type: 'response', status: 'success' });
  });

  it('trigger --print-channel prints the id alone; watch and logs take it', async () => {
    const g = await start();
    const trig = startCli(['trigger', '--workflow', 'chat', '--print-channel'], envOf(g));
    expect(await trig.exit).toBe(0);
    const channelId = trig.stdout[0] as string;
    expect(channelId).toMatch(/^[0-9a-f-]{36}$/);
    const watching = startCli(['websocket', channelId], envOf(g));
    expect(await watching.exit).toBe(0);
    expect(watching.stdout.join('\n')).toMatch(/^response success/m);
    const logs = startCli(['logs', channelId], envOf(g));
    expect(await logs.exit).toBe(0);
    const out = logs.stdout.join('\n');
    expect(out).toMatch(new RegExp(`^chat ${channelId}  success`));
    expect(out).toMatch(/^\s+\+\d+ ms  accepted  workflow=chat mode=async/m);
    expect(out).toMatch(/^providers\n  mock\//m);
  });

  it('logs shows each webhook attempt', async () => {
    const g = await start({ webhookRetryScheduleMs: [] });
    const trig = startCli(['trigger', '--workflow', 'chat', '--webhook-url', 'cli', '--print-channel', '--watch'], envOf(g));
    expect(await trig.exit).toBe(0);
    const channelId = trig.stdout[0] as string;
    let out = '';
    // The webhook settles after the response: read the log until it has.
    while (!/webhook task\.completed .* dead/.test(out)) {
      const logs = startCli(['logs', channelId], envOf(g));
      expect(await logs.exit).toBe(0);
      out = logs.stdout.join('\n');
    }
    expect(out).toMatch(/^webhook task\.completed evt_\w+ → cli  dead\n  #1 \S+  -  \d+ ms  no cli listener connected$/m);
  });

  it('workflows and dead-letters (with replay)', async () => {
    const g = await start({ webhookRetryScheduleMs: [] });
    const list = startCli(['workflows', '--json'], envOf(g));
    expect(await list.exit).toBe(0);
    expect(list.stdout.filter(Boolean).map((l) => JSON.parse(l).name)).toContain('chat-event');

    const trig = startCli(['trigger', '--workflow', 'chat', '--webhook-url', 'cli', '--watch', '--json'], envOf(g));
    expect(await trig.exit).toBe(0);
    let dead: Array<{ id: string }> = [];
    while (dead.length === 0) {
      const run = startCli(['dead-letters', '--json'], envOf(g));
      expect(await run.exit).toBe(0);
      dead = run.stdout.filter(Boolean).map((l) => JSON.parse(l));
    }
    expect(dead[0]).toMatchObject({ type: 'dead_letter', url: 'cli', state: 'dead' });
    const replay = startCli(['dead-letters', 'replay', dead[0]!.id], envOf(g));
    expect(await replay.exit).toBe(0);
    expect(replay.stdout[0]).toMatch(/^replaying evt_\w+ → cli/);
  });
});

describe('bad input: one line naming the fix, a non-zero exit', () => {
  const cases: Array<[string, string[], (g: RunningGateway, down: string) => Record<string, string>, number, RegExp]> = [
    ['no API key', ['workflows'], (g) => ({ MODELRIVER_BASE_URL: g.url }), 2, /no API key: pass --api-key <key> or set MODELRIVER_API_KEY/],
    ['a wrong key (HTTP)', ['trigger', '--workflow', 'chat'], (g) => ({ MODELRIVER_API_KEY: 'mr_test_wrong_key', MODELRIVER_BASE_URL: g.url }), 3, /refused the API key: check --api-key/],
    ['a wrong key (listen)', ['listen', '--forward-to', 'http://127.0.0.1:9/x'], (g) => ({ MODELRIVER_API_KEY: 'mr_test_wrong_key', MODELRIVER_BASE_URL: g.url }), 3, /refused the API key/],
    ['an unreachable gateway (HTTP)', ['workflows'], (g, down) => ({ MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: down }), 4, /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+ .*start it \(npm run gateway\)/],
    ['an unreachable gateway (trigger)', ['trigger', '--workflow', 'chat'], (g, down) => ({ MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: down }), 4, /cannot reach the gateway/],
    ['an unreachable gateway (listen)', ['listen', '--forward-to', 'http://127.0.0.1:9/x'], (g, down) => ({ MODELRIVER_API_KEY: g.apiKey, MODELRIVER_BASE_URL: down }), 4, /cannot reach the gateway .*ECONNREFUSED/],
    ['a malformed --payload', ['trigger', '--workflow', 'chat', '--payload', '{metadata:1}'], envOf, 2, /--payload is not valid JSON .*quote it/],
    ['a --payload that is not an object', ['trigger', '--workflow', 'chat', '--payload', '[1]'], envOf, 2, /--payload must be a JSON object/],
    ['a bad --forward-to', ['listen', '--forward-to', 'localhost:4000'], envOf, 2, /--forward-to must be an .*http\(s\) URL/],
    ['listen without a target', ['listen'], envOf, 2, /--forward-to http:\/\/localhost:4000/],
    ['a bad --webhook-url', ['trigger', '--workflow', 'chat', '--webhook-url', 'nope'], envOf, 2, /--webhook-url \(or "cli"\) must be/],
    ['trigger without a workflow', ['trigger'], envOf, 2, /--workflow chat/],
    ['an unknown workflow', ['trigger', '--workflow', 'nope'], envOf, 5, /workflow "nope" not found/],
    ['a channel id that is not one', ['logs', 'abc'], envOf, 2, /"abc" is not a channel id/],
    ['an unknown channel', ['logs', '0b6b7d2a-3c1e-4b8f-8d2e-6a9c1f3e5b7d'], envOf, 5, /no request log for channel/],
    ['an unknown flag', ['workflows', '--jsno'], envOf, 2, /unknown option '--jsno'/],
    ['an unknown dead letter', ['dead-letters', 'replay', 'evt_nope'], envOf, 5, /no dead-lettered webhook/],
  ];
  it.each(cases)('%s', async (_name, argv, env, code, message) => {
    const g = await start();
    const cli = startCli(argv, env(g, await closedPortUrl()));
    expect(await cli.exit).toBe(code);
    const errors = cli.stderr.filter(Boolean);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it('--json errors are one JSON object with a stable code', async () => {
    const g = await start();
    const cli = startCli(['trigger', '--workflow', 'chat', '--payload', '{', '--json'], envOf(g));
    expect(await cli.exit).toBe(2);
    expect(JSON.parse(cli.stderr[0] as string)).toMatchObject({ type: 'error', code: 'invalid_payload' });
  });
});
