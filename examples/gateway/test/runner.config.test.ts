import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { banner } from '../src/banner.js';
import { ConfigError, DEFAULT_CONFIG, DEV_WEBHOOK_SECRET, loadConfig, resolveConfig, type GatewayConfig } from '../src/config.js';
import { startGateway } from '../src/gateway.js';
import type { Provider } from '../src/providers/provider.js';
import { buildWorkflows } from '../src/workflows.js';

const files = (content: Record<string, string>) => ({
  readFile: (path: string) => {
    const text = content[path];
    if (text === undefined) throw new Error(`ENOENT ${path}`);
    return text;
  },
  fileExists: (path: string) => path in content,
});

describe('configuration', () => {
  it('defaults: port 8787, loopback, dev key and a fixed whsec_ dev secret', () => {
    const { config, file, devWebhookSecret, devApiKey } = loadConfig({ env: {}, cwd: '/app', ...files({}) });
    expect(file).toBeNull();
    expect(config).toMatchObject({ port: 8787, host: '127.0.0.1', apiKey: 'mr_test_local', mockTokenDelayMs: 30, bodyLimitBytes: 1024 * 1024 });
    expect(config.webhookSecret).toBe(DEV_WEBHOOK_SECRET);
    expect(DEV_WEBHOOK_SECRET).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(devWebhookSecret && devApiKey).toBe(true);
    expect(config.projectId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('layers defaults ← gateway.config.json ← environment', () => {
    const { config, file } = loadConfig({
      env: { PORT: '9000', MOCK_TOKEN_DELAY_MS: '0' },
      cwd: '/app',
      ...files({ '/app/gateway.config.json': JSON.stringify({ port: 1234, rateLimitCapacity: 5, mockTokenDelayMs: 10 }) }),
    });
    expect(file).toBe('/app/gateway.config.json');
    expect(config).toMatchObject({ port: 9000, rateLimitCapacity: 5, mockTokenDelayMs: 0 });
  });

  it('reads the file named by MODELRIVER_GATEWAY_CONFIG and fails clearly when it is missing', () => {
    const { config } = loadConfig({
      env: { MODELRIVER_GATEWAY_CONFIG: 'conf/gw.json', MODELRIVER_API_KEY: 'mr_live_abcdefgh' },
      cwd: '/app',
      ...files({ '/app/conf/gw.json': '{"host":"0.0.0.0"}' }),
    });
    expect(config).toMatchObject({ host: '0.0.0.0', apiKey: 'mr_live_abcdefgh' });
    expect(() => loadConfig({ env: { MODELRIVER_GATEWAY_CONFIG: 'nope.json' }, cwd: '/app', ...files({}) })).toThrow(/does not exist/);
  });

  it('names the bad setting', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' }, cwd: '/', ...files({}) })).toThrow(/PORT must be an integer/);
    expect(() => loadConfig({ env: { MODELRIVER_WEBHOOK_SECRET: 'plain' }, cwd: '/', ...files({}) })).toThrow(/webhookSecret must be "whsec_"/);
    expect(() => loadConfig({ env: {}, cwd: '/a', ...files({ '/a/gateway.config.json': '{"prot": 1}' }) })).toThrow(/unknown setting "prot"/);
    expect(() => loadConfig({ env: {}, cwd: '/a', ...files({ '/a/gateway.config.json': '{oops' }) })).toThrow(ConfigError);
    expect(() => resolveConfig({ port: 70000 })).toThrow(/port must be an integer from 0 to 65535/);
    expect(() => resolveConfig({ rateLimitRefillPerSecond: 0 })).toThrowError(
      expect.objectContaining({ code: 'invalid_config', message: expect.stringContaining('rateLimitRefillPerSecond') }),
    );
  });

  it('refuses timer durations setTimeout cannot honour (above 2**31-1 ms it fires after 1 ms)', () => {
    const max = 2 ** 31 - 1;
    const tooLong: Array<Partial<GatewayConfig>> = [
      { stallTimeoutMs: max + 1 },
      { callbackTimeoutMs: max + 1 },
      { webhookTimeoutMs: max + 1 },
      { mockTokenDelayMs: max + 1 },
      { webhookRetryScheduleMs: [5_000, max + 1] },
    ];
    for (const overrides of tooLong) {
      const [key] = Object.keys(overrides);
      expect(() => resolveConfig(overrides), key).toThrowError(
        expect.objectContaining({ name: 'ConfigError', code: 'invalid_config', message: expect.stringContaining(`${key} must be`) }),
      );
    }
    // The limit itself is accepted.
    expect(resolveConfig({ stallTimeoutMs: max, callbackTimeoutMs: max, webhookTimeoutMs: max, webhookRetryScheduleMs: [max] })).toMatchObject({
      stallTimeoutMs: max,
      callbackTimeoutMs: max,
    });
  });

  it('loads the shipped gateway.config.example.json, workflows included', () => {
    const cwd = fileURLToPath(new URL('..', import.meta.url));
    const { config } = loadConfig({ env: { MODELRIVER_GATEWAY_CONFIG: 'gateway.config.example.json' }, cwd });
    const { workflows: _w, ...settings } = config;
    const { projectId: _p, workflows: _d, ...defaults } = { ...DEFAULT_CONFIG, projectId: '' };
    // The example documents the defaults: it must not drift from them.
    expect(settings).toMatchObject(defaults);
    const workflows = buildWorkflows({ ...config, createOpenAICompatible: () => ({ name: 'x', model: 'y', async *stream() {} }) });
    expect([...workflows.keys()]).toContain('chat-stall');
  });

  it('takes the Redis URL from MODELRIVER_REDIS_URL, checks it, and says whether the project id was configured', () => {
    const fromEnv = loadConfig({ env: { MODELRIVER_REDIS_URL: 'redis://127.0.0.1:6379/2' }, cwd: '/app', ...files({}) });
    expect(fromEnv.config).toMatchObject({ redisUrl: 'redis://127.0.0.1:6379/2', redisKeyPrefix: 'mr:', nodeLeaseMs: 5_000 });
    expect(fromEnv.projectIdConfigured).toBe(false);
    const configured = loadConfig({ env: { MODELRIVER_PROJECT_ID: '6f1d2c3b-4a5e-4f60-8b71-92a3b4c5d6e7' }, cwd: '/app', ...files({}) });
    expect(configured.projectIdConfigured).toBe(true);
    expect(configured.config.redisUrl).toBeNull();
    expect(() => resolveConfig({ redisUrl: 'http://127.0.0.1:6379' })).toThrowError(/redisUrl/);
    expect(() => resolveConfig({ redisKeyPrefix: 'has space' })).toThrowError(/redisKeyPrefix/);
    expect(() => resolveConfig({ nodeLeaseMs: 10 })).toThrowError(/nodeLeaseMs/);
  });

  it('does not let a config share the defaults arrays', () => {
    const config = resolveConfig();
    config.webhookRetryScheduleMs.push(1);
    expect(DEFAULT_CONFIG.webhookRetryScheduleMs).toHaveLength(7);
  });
});

describe('workflows', () => {
  const base = { workflows: {}, mockTokenDelayMs: 0, mockTokens: 48, mockFallback: true };
  const real = (name: string): Provider => ({ name, model: 'real-1', async *stream() {} });

  it('has the five built-ins', () => {
    const workflows = buildWorkflows(base);
    expect([...workflows.keys()]).toEqual(['chat', 'chat-structured', 'chat-failover', 'chat-event', 'chat-tools']);
    expect(workflows.get('chat-event')?.event).toBe('new_chat');
    expect(workflows.get('chat-structured')?.validate).toBeTypeOf('function');
    expect(workflows.get('chat-failover')?.providers.map((p) => p.name)).toEqual(['mock-primary', 'mock-secondary']);
  });

  it('puts providers from the environment first, the mock as fallback, except in scripted workflows', () => {
    const workflows = buildWorkflows({ ...base, envProviders: [real('openai')] });
    expect(workflows.get('chat')?.providers.map((p) => p.name)).toEqual(['openai', 'mock']);
    expect(workflows.get('chat-failover')?.providers.map((p) => p.name)).toEqual(['mock-primary', 'mock-secondary']);
    const noFallback = buildWorkflows({ ...base, mockFallback: false, envProviders: [real('openai')] });
    expect(noFallback.get('chat')?.providers.map((p) => p.name)).toEqual(['openai']);
  });

  it('accepts custom workflows and rejects bad ones with the path of the problem', () => {
    const custom = buildWorkflows({ ...base, workflows: { flaky: { providers: [{ type: 'mock', stallAfterTokens: 2 }, { type: 'mock', name: 'backup' }] } } });
    expect(custom.get('flaky')?.providers).toHaveLength(2);
    expect(() => buildWorkflows({ ...base, workflows: { x: { providers: [] } } })).toThrow('workflows.x.providers must be a non-empty array');
    expect(() => buildWorkflows({ ...base, workflows: { x: { providers: [{ type: 'mock', failAfter: 1 } as never] } } })).toThrow(
      'workflows.x.providers[0]: unknown mock setting "failAfter"',
    );
    expect(() => buildWorkflows({ ...base, workflows: { x: { providers: [{ type: 'mock' }], schema: { type: 'nonsense' } } } })).toThrow(
      /workflows.x.schema is not a valid JSON Schema/,
    );
    expect(() =>
      buildWorkflows({ ...base, workflows: { x: { providers: [{ type: 'openai-compatible', baseUrl: 'http://127.0.0.1:1', model: 'm', apiKeyEnv: 'NOPE' }] } }, env: {}, createOpenAICompatible: () => real('x') }),
    ).toThrow('workflows.x: environment variable NOPE is not set');
  });

  it('the start-up banner shows the URLs, the key, the flagged dev secret and the workflows', async () => {
    const loaded = loadConfig({ env: { PORT: '0' }, cwd: '/nowhere', ...files({}) });
    const gw = await startGateway(loaded.config);
    try {
      const text = banner(gw, loaded, []);
      expect(text).toContain(`listening on ${gw.url}`);
      expect(text).toContain(gw.wsUrl);
      expect(text).toMatch(/API key\s+mr_test_local\s+\(development default/);
      expect(text).toMatch(new RegExp(`webhook secret\\s+${DEV_WEBHOOK_SECRET}\\s+\\(development default, public`));
      for (const name of ['chat', 'chat-structured', 'chat-failover', 'chat-event', 'chat-tools']) expect(text).toContain(`  ${name} `);
      expect(text).toContain('lost on restart');
    } finally {
      await gw.close();
    }
  });

  it('startGateway refuses bad overrides before listening', async () => {
    await expect(startGateway({ port: 0, bodyLimitBytes: -1 })).rejects.toThrow(/bodyLimitBytes/);
  });
});
