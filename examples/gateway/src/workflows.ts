/**
 * Workflows: named recipes of provider list (in failover order), optional JSON Schema, tools and
 * event. The five built-in ones are the fixed targets of the demo and the tests; a config file may
 * add more or replace them.
 */
import { ConfigError } from './config-error.js';
import { createMockProvider, type MockFaults } from './providers/mock.js';
import type { Provider, ToolSpec } from './providers/provider.js';
import { createSchemaCompiler, type OutputValidator } from './runner/structured-output.js';
import { systemTimers, type Timers } from './timers.js';
import { parseWebhookTarget } from './http/validation.js';
import { isPlainObject } from './values.js';

/** A provider entry of a workflow (JSON-serialisable, so it fits in a config file). */
export type ProviderConfig =
  | ({ type: 'mock'; name?: string; model?: string; minTokens?: number } & MockFaults)
  | {
      type: 'openai-compatible';
      name?: string;
      baseUrl: string;
      model: string;
      /** Name of the environment variable holding the key (keys don't belong in config files). */
      apiKeyEnv?: string;
    };

/** A workflow as configured. */
export interface WorkflowConfig {
  description?: string;
  /** Tried in order: a failure moves on to the next (mid-stream, it continues the text). */
  providers: ProviderConfig[];
  /** JSON Schema the final output must satisfy; `data` then holds the parsed object. */
  schema?: Record<string, unknown>;
  /** Makes every request event-driven: after generation, wait for the backend's callback. */
  event?: string;
  /** Tools offered to the model. */
  tools?: ToolSpec[];
  /**
   * Where this workflow's webhooks go when a request names no `webhook_url`: an http(s) URL, or
   * `"cli"` to deliver through connected CLI listeners (`modelriver listen`).
   */
  webhookUrl?: string;
  /**
   * Put providers configured by environment (OPENAI_API_KEY, …) ahead of this workflow's own.
   * Default true; false for workflows whose point is a scripted mock behaviour.
   */
  useEnvProviders?: boolean;
}

/** A workflow ready to run. */
export interface Workflow {
  name: string;
  description: string;
  providers: Provider[];
  schema: Record<string, unknown> | null;
  validate: OutputValidator | null;
  event: string | null;
  tools: ToolSpec[];
  /** The workflow's own webhook target (a request's `webhook_url` wins); null or absent for none. */
  webhookUrl?: string | null;
}

const STRUCTURED_SCHEMA: Record<string, unknown> = {
  type: 'object',
  additionalProperties: false,
  required: ['reply', 'summary', 'sentiment', 'confidence', 'topics', 'action_items'],
  properties: {
    reply: { type: 'string' },
    summary: { type: 'string' },
    sentiment: { type: 'string', enum: ['positive', 'negative', 'neutral', 'mixed'] },
    confidence: { type: 'number', minimum: 0, maximum: 1 },
    topics: { type: 'array', items: { type: 'string' } },
    action_items: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['task', 'priority'],
        properties: {
          task: { type: 'string' },
          priority: { type: 'string', enum: ['high', 'medium', 'low'] },
        },
      },
    },
  },
};

const WEATHER_TOOL: ToolSpec = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: {
    type: 'object',
    required: ['city'],
    properties: { city: { type: 'string', description: 'City name, e.g. Lisbon' } },
  },
};

/**
 * The built-in workflows.
 * - `chat`: plain streaming text.
 * - `chat-structured`: JSON output validated against a schema.
 * - `chat-failover`: the primary mock fails after 6 tokens, the secondary continues the same text.
 * - `chat-event`: event `new_chat`; waits for the backend's callback after generation.
 * - `chat-tools`: one streamed `get_weather` tool call, then text.
 */
export const BUILTIN_WORKFLOWS: Readonly<Record<string, WorkflowConfig>> = Object.freeze({
  chat: { description: 'Plain streaming text', providers: [{ type: 'mock' }] },
  'chat-structured': {
    description: 'Structured output validated against a JSON Schema',
    providers: [{ type: 'mock' }],
    schema: STRUCTURED_SCHEMA,
  },
  'chat-failover': {
    description: 'The primary provider fails mid-stream; the secondary continues the same text',
    providers: [
      { type: 'mock', name: 'mock-primary', failAfterTokens: 6 },
      { type: 'mock', name: 'mock-secondary' },
    ],
    useEnvProviders: false,
  },
  'chat-event': {
    description: 'Event-driven: after generation the backend enriches the result and calls back',
    providers: [{ type: 'mock' }],
    event: 'new_chat',
  },
  'chat-tools': {
    description: 'One streamed tool call (get_weather), then text',
    providers: [{ type: 'mock', toolCalls: true }],
    tools: [WEATHER_TOOL],
  },
});

/** Creates an openai-compatible provider; injected so this module has no hard dependency on it. */
export type OpenAICompatibleFactory = (options: {
  baseUrl: string;
  apiKey?: string;
  model: string;
  name?: string;
  fetch?: typeof fetch;
}) => Provider;

/** What {@link buildWorkflows} needs. */
export interface BuildWorkflowsInput {
  /** Added to, or replacing, the built-ins by name. */
  workflows: Record<string, WorkflowConfig>;
  mockTokenDelayMs: number;
  mockTokens: number;
  mockFallback: boolean;
  /** Providers configured by environment: tried first where `useEnvProviders` is not false. */
  envProviders?: Provider[];
  createOpenAICompatible?: OpenAICompatibleFactory;
  env?: Record<string, string | undefined>;
  fetch?: typeof fetch;
  timers?: Timers;
}

const FAULT_CHECKS: Record<string, (v: unknown) => boolean> = {
  failBeforeFirstToken: (v) => typeof v === 'boolean',
  invalidJson: (v) => typeof v === 'boolean',
  toolCalls: (v) => typeof v === 'boolean',
  failAfterTokens: (v) => Number.isInteger(v) && (v as number) >= 0,
  stallAfterTokens: (v) => Number.isInteger(v) && (v as number) >= 0,
  minTokens: (v) => Number.isInteger(v) && (v as number) >= 1,
  errorCode: (v) => typeof v === 'string' && /^[a-z][a-z0-9_]*$/.test(v),
  name: (v) => typeof v === 'string' && v.length > 0,
  model: (v) => typeof v === 'string' && v.length > 0,
  type: () => true,
};

// Keys a workflow, an openai-compatible provider and a tool may have: anything else is a typo
// (`schemaa`) that would otherwise be silently ignored, like an unknown top-level setting.
const WORKFLOW_KEYS: ReadonlySet<string> = new Set(['description', 'providers', 'schema', 'event', 'tools', 'useEnvProviders', 'webhookUrl']);
const OPENAI_KEYS: ReadonlySet<string> = new Set(['type', 'name', 'baseUrl', 'model', 'apiKeyEnv']);
const TOOL_KEYS: ReadonlySet<string> = new Set(['name', 'description', 'parameters']);

function refuseUnknownKeys(at: string, value: Record<string, unknown>, known: ReadonlySet<string>, what: string): void {
  for (const key of Object.keys(value)) {
    if (!known.has(key)) throw new ConfigError(`${at}: unknown ${what} setting "${key}" (known: ${[...known].join(', ')})`);
  }
}

function checkWorkflow(name: string, raw: unknown): asserts raw is WorkflowConfig {
  const where = `workflows.${name}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new ConfigError(`${where}: a workflow name is 1-64 letters, digits, ".", "_" or "-"`);
  }
  if (!isPlainObject(raw)) throw new ConfigError(`${where} must be an object`);
  refuseUnknownKeys(where, raw, WORKFLOW_KEYS, 'workflow');
  if (!Array.isArray(raw['providers']) || raw['providers'].length === 0) {
    throw new ConfigError(`${where}.providers must be a non-empty array`);
  }
  raw['providers'].forEach((p: unknown, i: number) => {
    const at = `${where}.providers[${i}]`;
    if (!isPlainObject(p)) throw new ConfigError(`${at} must be an object`);
    if (p['type'] === 'mock') {
      for (const [key, value] of Object.entries(p)) {
        const check = FAULT_CHECKS[key];
        if (!check) throw new ConfigError(`${at}: unknown mock setting "${key}"`);
        if (!check(value)) throw new ConfigError(`${at}.${key} has an invalid value`);
      }
    } else if (p['type'] === 'openai-compatible') {
      refuseUnknownKeys(at, p, OPENAI_KEYS, 'openai-compatible provider');
      if (typeof p['baseUrl'] !== 'string' || !/^https?:\/\//.test(p['baseUrl'])) {
        throw new ConfigError(`${at}.baseUrl must be an http(s) URL`);
      }
      if (typeof p['model'] !== 'string' || !p['model']) throw new ConfigError(`${at}.model must be a non-empty string`);
      if (p['name'] !== undefined && (typeof p['name'] !== 'string' || !p['name'])) throw new ConfigError(`${at}.name must be a non-empty string`);
      if (p['apiKeyEnv'] !== undefined && (typeof p['apiKeyEnv'] !== 'string' || !p['apiKeyEnv'])) {
        throw new ConfigError(`${at}.apiKeyEnv must be a non-empty string`);
      }
    } else {
      throw new ConfigError(`${at}.type must be "mock" or "openai-compatible"`);
    }
  });
  if (raw['schema'] !== undefined && !isPlainObject(raw['schema'])) throw new ConfigError(`${where}.schema must be an object`);
  if (raw['description'] !== undefined && typeof raw['description'] !== 'string') throw new ConfigError(`${where}.description must be a string`);
  if (raw['useEnvProviders'] !== undefined && typeof raw['useEnvProviders'] !== 'boolean') {
    throw new ConfigError(`${where}.useEnvProviders must be true or false`);
  }
  if (raw['event'] !== undefined && (typeof raw['event'] !== 'string' || !raw['event'])) {
    throw new ConfigError(`${where}.event must be a non-empty string`);
  }
  if (raw['webhookUrl'] !== undefined && (typeof raw['webhookUrl'] !== 'string' || parseWebhookTarget(raw['webhookUrl']) === null)) {
    throw new ConfigError(`${where}.webhookUrl must be an absolute http(s) URL or "cli"`);
  }
  if (raw['tools'] !== undefined) {
    if (!Array.isArray(raw['tools'])) throw new ConfigError(`${where}.tools must be an array`);
    raw['tools'].forEach((t: unknown, i: number) => {
      if (!isPlainObject(t) || typeof t['name'] !== 'string' || !isPlainObject(t['parameters'])) {
        throw new ConfigError(`${where}.tools[${i}] must be {name, description?, parameters}`);
      }
      refuseUnknownKeys(`${where}.tools[${i}]`, t, TOOL_KEYS, 'tool');
    });
  }
}

/**
 * Resolves the built-in and configured workflows into runnable ones: providers instantiated,
 * schemas compiled once. Throws {@link ConfigError} naming a bad workflow.
 *
 * @example
 * ```ts
 * const workflows = buildWorkflows({ workflows: {}, mockTokenDelayMs: 0, mockTokens: 48, mockFallback: true });
 * workflows.get('chat')?.providers[0]?.name; // 'mock'
 * ```
 */
export function buildWorkflows(input: BuildWorkflowsInput): Map<string, Workflow> {
  const compile = createSchemaCompiler();
  const timers = input.timers ?? systemTimers;
  const env = input.env ?? {};
  const envProviders = input.envProviders ?? [];
  const all: Record<string, unknown> = { ...BUILTIN_WORKFLOWS, ...input.workflows };
  const result = new Map<string, Workflow>();

  for (const [name, raw] of Object.entries(all)) {
    checkWorkflow(name, raw);
    const own = raw.providers.map((p): Provider => {
      if (p.type === 'mock') {
        const { type: _type, ...mock } = p;
        return createMockProvider({ minTokens: input.mockTokens, ...mock, tokenDelayMs: input.mockTokenDelayMs, timers });
      }
      if (!input.createOpenAICompatible) {
        throw new ConfigError(`workflows.${name}: openai-compatible providers are not available in this build`);
      }
      const apiKey = p.apiKeyEnv ? env[p.apiKeyEnv] : undefined;
      if (p.apiKeyEnv && !apiKey) throw new ConfigError(`workflows.${name}: environment variable ${p.apiKeyEnv} is not set`);
      return input.createOpenAICompatible({
        baseUrl: p.baseUrl,
        model: p.model,
        ...(apiKey ? { apiKey } : {}),
        ...(p.name ? { name: p.name } : {}),
        ...(input.fetch ? { fetch: input.fetch } : {}),
      });
    });
    const useEnv = raw.useEnvProviders !== false && envProviders.length > 0;
    const providers = useEnv ? [...envProviders, ...(input.mockFallback ? own : own.filter((p) => !isMock(raw, p, own)))] : own;
    let validate: OutputValidator | null = null;
    if (raw.schema) {
      try {
        validate = compile(raw.schema);
      } catch (err) {
        throw new ConfigError(`workflows.${name}.schema is not a valid JSON Schema: ${(err as Error).message}`);
      }
    }
    result.set(name, {
      name,
      description: raw.description ?? '',
      providers: providers.length > 0 ? providers : own,
      schema: raw.schema ?? null,
      validate,
      event: raw.event ?? null,
      tools: raw.tools ?? [],
      webhookUrl: raw.webhookUrl === undefined ? null : parseWebhookTarget(raw.webhookUrl),
    });
  }
  return result;
}

function isMock(config: WorkflowConfig, provider: Provider, own: Provider[]): boolean {
  return config.providers[own.indexOf(provider)]?.type === 'mock';
}
