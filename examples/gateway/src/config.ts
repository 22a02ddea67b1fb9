/**
 * Gateway configuration: defaults ← JSON file ← environment (main.ts), or defaults ← overrides
 * (startGateway). Everything is validated here so a bad value fails at start-up with a message
 * naming the setting, never later in the middle of a request.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { MAX_TIMER_MS } from './timers.js';
import { isPlainObject, isUuid } from './values.js';
import type { WorkflowConfig } from './workflows.js';
import { ConfigError } from './config-error.js';

export { ConfigError } from './config-error.js';

/** Everything the gateway can be told. All durations are milliseconds. */
export interface GatewayConfig {
  /** Interface to listen on. Default `127.0.0.1`. */
  host: string;
  /** Port; 0 picks a free one. Default 8787. */
  port: number;
  /**
   * Base URL advertised in `websocket_url` and `callback_url` (e.g. `https://ai.example.com` behind
   * a proxy). Null: built from the request's `Host` header.
   */
  publicUrl: string | null;
  /** The API key clients send as `Authorization: Bearer …`. Default `mr_test_local`. */
  apiKey: string;
  /** More accepted keys (each gets its own rate-limit bucket). */
  additionalApiKeys: string[];
  /** `whsec_` + base64 webhook signing secret. Default: {@link DEV_WEBHOOK_SECRET}. */
  webhookSecret: string;
  /** Project UUID used in topics. Default: a new one per start. */
  projectId: string;
  /**
   * More projects besides the default one (`projectId` with `apiKey` and `additionalApiKeys`). Each
   * key belongs to exactly one project, and a project's channels, tokens, request logs and dead
   * letters are invisible to every other project's keys. Default `[]`.
   */
  projects: ProjectConfig[];
  /** Time a client has to send a request's headers; longer gets 408 `request_timeout`. Default 10 s. */
  headersTimeoutMs: number;
  /**
   * Time a client has to send a whole request (headers and body, including a body drained after an
   * early answer); longer gets 408 `request_timeout` or, once answered, the connection closed. Default 30 s.
   */
  requestTimeoutMs: number;
  /** Delay between mock tokens (0 = as fast as possible). Default 30. */
  mockTokenDelayMs: number;
  /** Minimum number of text tokens the mock produces for a plain-text answer. Default 48. */
  mockTokens: number;
  /** Largest accepted request body, enforced while it streams in. Default 1 MiB. */
  bodyLimitBytes: number;
  /** Token-bucket size per API key. Default 60. */
  rateLimitCapacity: number;
  /** Tokens added per second per API key. Default 10. */
  rateLimitRefillPerSecond: number;
  /** A provider silent this long (before or between chunks) fails with `provider_stalled`. Default 10 s. */
  stallTimeoutMs: number;
  /** How long an event-driven request waits for its callback. Default 5 min. */
  callbackTimeoutMs: number;
  /** Extra attempts after an output that does not match the workflow's schema. Default 1. */
  structuredOutputRetries: number;
  /** ws_token lifetime. Default 5 min. */
  tokenTtlMs: number;
  /** resume_token lifetime. Default 10 min. */
  resumeTokenTtlMs: number;
  /** How long a finished channel's events stay available for late joins. Default 10 min. */
  channelRetentionMs: number;
  /** WebSocket: client frames larger than this are dropped unread, the socket stays open. Default 64 KiB. */
  maxFrameBytes: number;
  /** WebSocket: a client message larger than this closes the socket with 1009. Default 1 MiB. */
  maxMessageBytes: number;
  /** WebSocket: joins a socket may send at once before they are refused with `rate_limited`. Default 10. */
  joinBurst: number;
  /** WebSocket: joins per second a socket gets back after its burst. Default 1. */
  joinsPerSecond: number;
  /** Live ws_tokens and resume_tokens per channel; one more revokes the oldest. Default 64. */
  maxTokensPerChannel: number;
  /** WebSocket send buffer above which pending `tokens` wait and are merged. Default 64 KiB. */
  highWaterMarkBytes: number;
  /** WebSocket send buffer a socket may not stay above for `hardCapGraceMs` (closed with 4408). Default 4 MiB. */
  hardCapBytes: number;
  /** How long a socket may stay over `hardCapBytes`. Default 5 s. */
  hardCapGraceMs: number;
  /** How long a finished request's log (and its idempotency record) is kept. Default 1 h. */
  requestLogRetentionMs: number;
  /** Webhook retry delays. Default 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h. */
  webhookRetryScheduleMs: number[];
  /** Per-attempt webhook timeout. Default 10 s. */
  webhookTimeoutMs: number;
  /** With real providers configured, keep the mock as the last fallback of each workflow. Default true. */
  mockFallback: boolean;
  /** Extra workflows, or replacements for built-in ones, by name. */
  workflows: Record<string, WorkflowConfig>;
  /**
   * `redis://…`: keep channels, tokens, request logs, idempotency records, rate limits, webhooks
   * and running requests in Redis, so that several gateway processes serve the same channels and a
   * restart loses nothing. Default null: everything in this process's memory.
   */
  redisUrl: string | null;
  /** Prefix of every Redis key and channel of this gateway. Default `mr:`. */
  redisKeyPrefix: string;
  /** With Redis: a node that has not renewed its requests' leases for this long is taken to be dead, and another continues them. Default 5 s. */
  nodeLeaseMs: number;
}

/** A project of {@link GatewayConfig.projects}. */
export interface ProjectConfig {
  /** UUID, used in topics and answered as `project_id`. */
  id: string;
  /** For people reading logs and the banner. Default: the id. */
  name?: string;
  /** The keys of this project (at least one); a key may belong to one project only. */
  apiKeys: string[];
  /** Signs this project's webhooks. Default: the gateway's `webhookSecret`. */
  webhookSecret?: string;
}

/**
 * The development webhook secret used when none is configured. It is public (printed at start-up
 * and written here): fine on a laptop, never in production.
 */
export const DEV_WEBHOOK_SECRET = 'whsec_bW9kZWxyaXZlci1sb2NhbC1kZXYta2V5';

/** The development API key used when none is configured. */
export const DEV_API_KEY = 'mr_test_local';

/** Defaults of every setting except `projectId` (a fresh UUID per start). */
export const DEFAULT_CONFIG: Readonly<Omit<GatewayConfig, 'projectId'>> = Object.freeze({
  host: '127.0.0.1',
  port: 8787,
  publicUrl: null,
  apiKey: DEV_API_KEY,
  additionalApiKeys: [],
  webhookSecret: DEV_WEBHOOK_SECRET,
  projects: [],
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  mockTokenDelayMs: 30,
  mockTokens: 48,
  bodyLimitBytes: 1024 * 1024,
  redisUrl: null,
  redisKeyPrefix: 'mr:',
  nodeLeaseMs: 5_000,
  rateLimitCapacity: 60,
  rateLimitRefillPerSecond: 10,
  stallTimeoutMs: 10_000,
  callbackTimeoutMs: 5 * 60_000,
  structuredOutputRetries: 1,
  tokenTtlMs: 5 * 60_000,
  resumeTokenTtlMs: 10 * 60_000,
  channelRetentionMs: 10 * 60_000,
  maxFrameBytes: 64 * 1024,
  maxMessageBytes: 1024 * 1024,
  joinBurst: 10,
  joinsPerSecond: 1,
  maxTokensPerChannel: 64,
  highWaterMarkBytes: 64 * 1024,
  hardCapBytes: 4 * 1024 * 1024,
  hardCapGraceMs: 5_000,
  requestLogRetentionMs: 60 * 60_000,
  webhookRetryScheduleMs: [5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000],
  webhookTimeoutMs: 10_000,
  mockFallback: true,
  workflows: {},
});

type Check = (value: unknown) => string | null;
const nonNegativeInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? null : 'must be an integer ≥ 0');
const positiveNumber: Check = (v) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? null : 'must be a number > 0');
const nonEmptyString: Check = (v) => (typeof v === 'string' && v.length > 0 ? null : 'must be a non-empty string');
// Durations that end up in setTimeout, which fires after 1 ms when given more than MAX_TIMER_MS.
const isTimerDelay = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_TIMER_MS;
const timerDelay: Check = (v) => (isTimerDelay(v) ? null : `must be an integer from 0 to ${MAX_TIMER_MS}`);
const positiveTimerDelay: Check = (v) =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_TIMER_MS ? null : `must be a number > 0 and ≤ ${MAX_TIMER_MS}`;
const boolean: Check = (v) => (typeof v === 'boolean' ? null : 'must be true or false');
const isApiKey = (v: unknown): boolean => typeof v === 'string' && /^\S{8,}$/.test(v);
const isWebhookSecret = (v: unknown): boolean =>
  typeof v === 'string' && /^whsec_[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length >= 'whsec_'.length + 16;
const WEBHOOK_SECRET_RULE = 'must be "whsec_" followed by base64 (at least 16 characters)';
const PROJECT_KEYS = new Set(['id', 'name', 'apiKeys', 'webhookSecret']);

function checkProjects(v: unknown): string | null {
  if (!Array.isArray(v)) return 'must be an array of {id, name?, apiKeys, webhookSecret?}';
  for (const [i, p] of v.entries()) {
    if (!isPlainObject(p)) return `[${i}] must be an object {id, name?, apiKeys, webhookSecret?}`;
    const unknown = Object.keys(p).find((k) => !PROJECT_KEYS.has(k));
    if (unknown !== undefined) return `[${i}]: unknown setting "${unknown}"`;
    if (!isUuid(p['id'])) return `[${i}].id must be a UUID`;
    if (p['name'] !== undefined && (typeof p['name'] !== 'string' || p['name'] === '')) return `[${i}].name must be a non-empty string`;
    const keys = p['apiKeys'];
    if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isApiKey)) {
      return `[${i}].apiKeys must be a non-empty array of strings of at least 8 characters without spaces`;
    }
    if (p['webhookSecret'] !== undefined && !isWebhookSecret(p['webhookSecret'])) return `[${i}].webhookSecret ${WEBHOOK_SECRET_RULE}`;
  }
  return null;
}

/** One check per setting: also the list of known keys, so a typo in a config file is reported. */
const CHECKS: Record<keyof GatewayConfig, Check> = {
  host: nonEmptyString,
  port: (v) => (Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? null : 'must be an integer from 0 to 65535'),
  publicUrl: (v) => (v === null || isHttpUrl(v) ? null : 'must be an http(s) URL or null'),
  apiKey: (v) => (isApiKey(v) ? null : 'must be a string of at least 8 characters without spaces'),
  additionalApiKeys: (v) =>
    Array.isArray(v) && v.every(isApiKey) ? null : 'must be an array of strings of at least 8 characters without spaces',
  webhookSecret: (v) => (isWebhookSecret(v) ? null : WEBHOOK_SECRET_RULE),
  projectId: (v) => (isUuid(v) ? null : 'must be a UUID'),
  projects: checkProjects,
  // Node's http server checks them on an interval, so below ~10 ms they cannot be honoured.
  headersTimeoutMs: (v) => (Number.isInteger(v) && (v as number) >= 10 && (v as number) <= MAX_TIMER_MS ? null : `must be an integer from 10 to ${MAX_TIMER_MS}`),
  requestTimeoutMs: (v) => (Number.isInteger(v) && (v as number) >= 10 && (v as number) <= MAX_TIMER_MS ? null : `must be an integer from 10 to ${MAX_TIMER_MS}`),
  mockTokenDelayMs: timerDelay,
  mockTokens: (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be an integer ≥ 1'),
  bodyLimitBytes: (v) => (Number.isInteger(v) && (v as number) >= 256 ? null : 'must be an integer ≥ 256'),
  rateLimitCapacity: (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be an integer ≥ 1'),
  rateLimitRefillPerSecond: positiveNumber,
  stallTimeoutMs: positiveTimerDelay,
  callbackTimeoutMs: positiveTimerDelay,
  structuredOutputRetries: nonNegativeInt,
  tokenTtlMs: positiveNumber,
  resumeTokenTtlMs: positiveNumber,
  channelRetentionMs: nonNegativeInt,
  maxFrameBytes: (v) => (Number.isInteger(v) && (v as number) >= 1024 ? null : 'must be an integer ≥ 1024'),
  maxMessageBytes: (v) => (Number.isInteger(v) && (v as number) >= 1024 ? null : 'must be an integer ≥ 1024'),
  joinBurst: (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be an integer ≥ 1'),
  joinsPerSecond: positiveNumber,
  maxTokensPerChannel: (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be an integer ≥ 1'),
  highWaterMarkBytes: nonNegativeInt,
  hardCapBytes: (v) => (Number.isInteger(v) && (v as number) >= 1 ? null : 'must be an integer ≥ 1'),
  hardCapGraceMs: nonNegativeInt,
  requestLogRetentionMs: nonNegativeInt,
  webhookRetryScheduleMs: (v) =>
    Array.isArray(v) && v.every(isTimerDelay) ? null : `must be an array of integers from 0 to ${MAX_TIMER_MS}`,
  webhookTimeoutMs: positiveTimerDelay,
  mockFallback: boolean,
  workflows: (v) => (isPlainObject(v) ? null : 'must be an object of workflows by name'),
  redisUrl: (v) => (v === null || isRedisUrl(v) ? null : 'must be a redis:// or rediss:// URL, or null'),
  redisKeyPrefix: (v) => (typeof v === 'string' && /^[A-Za-z0-9:_.-]{1,64}$/.test(v) ? null : 'must be 1-64 letters, digits or : _ . -'),
  nodeLeaseMs: (v) => (Number.isInteger(v) && (v as number) >= 100 && (v as number) <= MAX_TIMER_MS ? null : `must be an integer from 100 to ${MAX_TIMER_MS}`),
};

function isRedisUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const url = new URL(v);
    return url.protocol === 'redis:' || url.protocol === 'rediss:';
  } catch {
    return false;
  }
}

function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const url = new URL(v);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Fills in defaults and validates every setting. `undefined` values in `overrides` are ignored.
 * Throws {@link ConfigError} naming the first bad setting.
 *
 * @example
 * ```ts
 * const config = resolveConfig({ port: 0, mockTokenDelayMs: 0 });
 * config.apiKey; // 'mr_test_local'
 * ```
 */
export function resolveConfig(overrides: Partial<GatewayConfig> = {}, source = 'config'): GatewayConfig {
  // Fresh arrays/objects so no caller can mutate the shared defaults through its config.
  const merged: Record<string, unknown> = {
    ...DEFAULT_CONFIG,
    additionalApiKeys: [...DEFAULT_CONFIG.additionalApiKeys],
    projects: [],
    webhookRetryScheduleMs: [...DEFAULT_CONFIG.webhookRetryScheduleMs],
    workflows: {},
    projectId: randomUUID(),
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in CHECKS)) throw new ConfigError(`${source}: unknown setting "${key}"`);
    if (value !== undefined) merged[key] = value;
  }
  for (const [key, check] of Object.entries(CHECKS) as Array<[keyof GatewayConfig, Check]>) {
    const problem = check(merged[key]);
    // A problem inside an array setting names its element: `projects[0].id must be a UUID`.
    if (problem) throw new ConfigError(`${source}: ${key}${problem.startsWith('[') ? '' : ' '}${problem}`);
  }
  const config = merged as unknown as GatewayConfig;
  const problem = crossCheck(config);
  if (problem) throw new ConfigError(`${source}: ${problem}`);
  // A trailing slash would produce `//socket` in advertised URLs.
  if (config.publicUrl) config.publicUrl = config.publicUrl.replace(/\/+$/, '');
  return config;
}

/** Checks that involve several settings, once each is valid on its own. */
function crossCheck(config: GatewayConfig): string | null {
  // Node refuses a headers timeout longer than the whole request's.
  if (config.headersTimeoutMs > config.requestTimeoutMs) return 'headersTimeoutMs must not exceed requestTimeoutMs';
  const owner = new Map<string, string>();
  for (const key of [config.apiKey, ...config.additionalApiKeys]) owner.set(key, config.projectId);
  const ids = new Set([config.projectId.toLowerCase()]);
  for (const [i, project] of config.projects.entries()) {
    if (ids.has(project.id.toLowerCase())) return `projects[${i}].id ${project.id} is already used by another project`;
    ids.add(project.id.toLowerCase());
    for (const key of project.apiKeys) {
      if (owner.has(key) && owner.get(key) !== project.id) return `projects[${i}].apiKeys: a key may belong to one project only`;
      owner.set(key, project.id);
    }
  }
  return null;
}

/** Where each part of a loaded configuration came from, for the start-up banner. */
export interface LoadedConfig {
  config: GatewayConfig;
  /** Absolute path of the JSON file read, if any. */
  file: string | null;
  /** True when the webhook secret is the public development default. */
  devWebhookSecret: boolean;
  /** True when the API key is the public development default. */
  devApiKey: boolean;
  /**
   * True when the project id came from the file or the environment. Otherwise it is a fresh
   * UUID, and nodes sharing one Redis agree on the first node's instead.
   */
  projectIdConfigured: boolean;
}

/** What {@link loadConfig} reads; injectable for tests. */
export interface LoadConfigInput {
  env: Record<string, string | undefined>;
  cwd: string;
  readFile?: (path: string) => string;
  fileExists?: (path: string) => boolean;
}

function envInt(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`environment: ${name} must be an integer, got "${raw}"`);
  return Number(raw.trim());
}

function envString(env: Record<string, string | undefined>, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

/**
 * Loads the configuration of `npm run gateway`: defaults ← JSON file (`MODELRIVER_GATEWAY_CONFIG`, or
 * `gateway.config.json` in `cwd` when present) ← environment (`PORT`, `HOST`, `MODELRIVER_API_KEY`,
 * `MODELRIVER_WEBHOOK_SECRET`, `MODELRIVER_PUBLIC_URL`, `MODELRIVER_PROJECT_ID`, `MOCK_TOKEN_DELAY_MS`,
 * `MODELRIVER_REDIS_URL`).
 *
 * @example
 * ```ts
 * const { config, file } = loadConfig({ env: process.env, cwd: process.cwd() });
 * ```
 */
export function loadConfig(input: LoadConfigInput): LoadedConfig {
  const { env, cwd } = input;
  const readFile = input.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const fileExists = input.fileExists ?? existsSync;

  let file: string | null = null;
  let fromFile: Partial<GatewayConfig> = {};
  const explicit = envString(env, 'MODELRIVER_GATEWAY_CONFIG');
  const candidate = explicit ? resolvePath(cwd, explicit) : resolvePath(cwd, 'gateway.config.json');
  if (explicit && !fileExists(candidate)) {
    throw new ConfigError(`MODELRIVER_GATEWAY_CONFIG points to ${candidate}, which does not exist`);
  }
  if (fileExists(candidate)) {
    file = candidate;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFile(candidate));
    } catch (err) {
      throw new ConfigError(`${candidate}: not valid JSON (${(err as Error).message})`);
    }
    if (!isPlainObject(parsed)) throw new ConfigError(`${candidate}: must hold a JSON object`);
    // `$schema`/`//` style keys are comments, not settings.
    const { $schema: _schema, ['//']: _comment, ...settings } = parsed;
    fromFile = settings as Partial<GatewayConfig>;
    resolveConfig(fromFile, candidate); // reports a bad file as the file's fault, not the env's
  }

  const fromEnv: Partial<GatewayConfig> = {
    port: envInt(env, 'PORT'),
    host: envString(env, 'HOST'),
    apiKey: envString(env, 'MODELRIVER_API_KEY'),
    webhookSecret: envString(env, 'MODELRIVER_WEBHOOK_SECRET'),
    publicUrl: envString(env, 'MODELRIVER_PUBLIC_URL'),
    projectId: envString(env, 'MODELRIVER_PROJECT_ID'),
    mockTokenDelayMs: envInt(env, 'MOCK_TOKEN_DELAY_MS'),
    redisUrl: envString(env, 'MODELRIVER_REDIS_URL'),
  };
  const config = resolveConfig({ ...fromFile, ...stripUndefined(fromEnv) }, file ? `${file} + environment` : 'environment');
  return {
    config,
    file,
    devWebhookSecret: config.webhookSecret === DEV_WEBHOOK_SECRET,
    devApiKey: config.apiKey === DEV_API_KEY,
    projectIdConfigured: fromFile.projectId !== undefined || fromEnv.projectId !== undefined,
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
