/**
 * Programmatic start of the reference gateway: one node:http server carrying the HTTP API and the
 * WebSocket channel hub (`/socket/websocket`), the request runner, the webhook dispatcher and the
 * built-in workflows. Used by `src/main.ts` (`npm run gateway`) and by end-to-end tests (port 0).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createChannelHub, ListenerRegistry } from './channels/index.js';
import type { ChannelHub } from './channels/types.js';
import { resolveConfig, type GatewayConfig } from './config.js';
import { createApiHandler } from './http/api.js';
import { createClientErrorHandler } from './http/client-error.js';
import { createRoutes } from './http/routes.js';
import { quietLogger, type Logger } from './logger.js';
import { projectDirectory, type Project } from './projects.js';
import { createOpenAICompatibleProvider } from './providers/openai-compatible.js';
import type { Provider } from './providers/provider.js';
import { Runner } from './runner/runner.js';
import { openState } from './state.js';
import { systemTimers, type Timers } from './timers.js';
import type { WebhookDispatcher } from './webhooks/types.js';
import { buildWorkflows, type Workflow } from './workflows.js';

export type { GatewayConfig, ProjectConfig } from './config.js';
export type { Project } from './projects.js';

/** A started gateway. */
export interface RunningGateway {
  /** `http://127.0.0.1:{port}` (the HTTP API). */
  url: string;
  /** `ws://127.0.0.1:{port}/socket` (the `websocket_url` clients get). */
  wsUrl: string;
  apiKey: string;
  webhookSecret: string;
  /** The default project's id (the project of `apiKey`). */
  projectId: string;
  /** Every project, the default one first. */
  projects: readonly Project[];
  config: GatewayConfig;
  /** The workflows it serves, by name. */
  workflows: ReadonlyMap<string, Workflow>;
  /** Where its state lives: this process (`memory`) or Redis, shared with other nodes. */
  storage: 'memory' | 'redis';
  /** This node's id among the nodes sharing one Redis (`null` in memory). */
  nodeId: string | null;
  /** Counts for diagnostics and tests. */
  stats(): { sockets: number; channels: number; activeRequests: number; requestLogs: number };
  /** Stops generation, webhooks and sockets, then the server. Idempotent. */
  close(): Promise<void>;
}

/** The environment the gateway runs in; every member has a production default. */
export interface GatewayDeps {
  /** Default: errors only, to stderr. */
  logger?: Logger;
  /** Epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Default: the process timers. */
  timers?: Timers;
  /** Used for webhooks and openai-compatible providers. Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Real providers (e.g. `providersFromEnv(process.env)`), tried ahead of the mock. */
  envProviders?: Provider[];
  /** Where workflow providers' `apiKeyEnv` names are looked up. Default `process.env`. */
  env?: Record<string, string | undefined>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** The host clients should dial: a wildcard listen address is reached via loopback. */
function dialHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Starts the gateway. `overrides` are validated like a config file (a bad value throws a
 * ConfigError naming it); port 0 picks a free port.
 *
 * @example
 * ```ts
 * const gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
 * const ack = await fetch(`${gw.url}/v1/ai/async`, {
 *   method: 'POST',
 *   headers: { authorization: `Bearer ${gw.apiKey}`, 'content-type': 'application/json' },
 *   body: JSON.stringify({ workflow: 'chat', messages: [{ role: 'user', content: 'Hello' }] }),
 * }).then((r) => r.json());
 * await gw.close();
 * ```
 */
export async function startGateway(overrides: Partial<GatewayConfig> = {}, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const resolvedConfig = resolveConfig(overrides, 'startGateway');
  const logger = deps.logger ?? quietLogger;
  const now = deps.now ?? Date.now;
  const timers = deps.timers ?? systemTimers;
  const state = await openState(resolvedConfig, { now, timers, logger });
  let config: GatewayConfig;
  try {
    config = { ...resolvedConfig, projectId: await state.sharedProjectId(resolvedConfig.projectId, overrides.projectId !== undefined) };
  } catch (err) {
    await state.close();
    throw err;
  }

  const workflows = buildWorkflows({
    workflows: config.workflows,
    mockTokenDelayMs: config.mockTokenDelayMs,
    mockTokens: config.mockTokens,
    mockFallback: config.mockFallback,
    envProviders: deps.envProviders ?? [],
    createOpenAICompatible: createOpenAICompatibleProvider,
    env: deps.env ?? process.env,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    timers,
  });

  const projects = projectDirectory(config);
  const store = state.requestLogs;
  const cliRouting = state.cliRouting;
  const listeners = new ListenerRegistry({
    authenticate: (apiKey) => projects.byKey(apiKey)?.id,
    ...(cliRouting ? { onPresence: cliRouting.presence } : {}),
  });
  cliRouting?.attach(listeners);
  const hub: ChannelHub = createChannelHub({
    listeners,
    projectId: config.projectId,
    tokenTtlMs: config.tokenTtlMs,
    resumeTokenTtlMs: config.resumeTokenTtlMs,
    retentionMs: config.channelRetentionMs,
    maxFrameBytes: config.maxFrameBytes,
    maxMessageBytes: config.maxMessageBytes,
    joinBurst: config.joinBurst,
    joinsPerSecond: config.joinsPerSecond,
    maxTokensPerChannel: config.maxTokensPerChannel,
    highWaterMark: config.highWaterMarkBytes,
    hardCap: config.hardCapBytes,
    hardCapGraceMs: config.hardCapGraceMs,
    ...(deps.now ? { now: deps.now } : {}),
    ...(state.backplane ? { backplane: state.backplane } : {}),
    onError: (err) => logger.error('channel hub hook failed', err),
  });
  const dispatcher: WebhookDispatcher = await state.createDispatcher({
    secret: config.webhookSecret,
    retryScheduleMs: config.webhookRetryScheduleMs,
    timeoutMs: config.webhookTimeoutMs,
    cliTransport: cliRouting ? cliRouting.transport : (input) => listeners.deliver(input),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.now ? { now: deps.now } : {}),
    onAttempt: (delivery, attempt) => store.webhookAttempt(delivery.channelId, delivery.id, attempt),
    onSettled: (delivery) => store.webhookState(delivery.channelId, delivery.id, delivery.state),
  });
  const runner = new Runner({
    hub,
    dispatcher,
    store,
    coordinator: state.coordinator,
    workflows,
    stallTimeoutMs: config.stallTimeoutMs,
    callbackTimeoutMs: config.callbackTimeoutMs,
    structuredOutputRetries: config.structuredOutputRetries,
    timers,
    now,
    logger,
  });

  let localBase = `http://${dialHost(config.host)}:${config.port}`;
  const routes = createRoutes({
    publicUrl: config.publicUrl,
    localBase: () => localBase,
    runner,
    hub,
    dispatcher,
    store,
    workflows,
    idempotency: state.idempotency,
  });
  const server = createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Node checks both timeouts on this interval (30 s by default), which would stretch short ones.
      connectionsCheckingInterval: Math.max(5, Math.min(1000, Math.floor(config.headersTimeoutMs / 4))),
    },
    createApiHandler({
      projects,
      bodyLimitBytes: config.bodyLimitBytes,
      limiter: state.limiter,
      routes,
      logger,
    }),
  );
  // The exchange under way on each socket (until its request has fully arrived and its answer has
  // gone out), so a parse error or timeout in the middle of it never writes a second status line.
  const responses = new WeakMap<object, ServerResponse>();
  server.on('request', (req, res: ServerResponse) => {
    const socket = req.socket;
    responses.set(socket, res);
    const forget = (): void => {
      if (responses.get(socket) === res) responses.delete(socket);
    };
    res.once('finish', () => {
      if (req.complete) forget();
      else req.once('end', forget).once('close', forget);
    });
  });
  server.on('clientError', createClientErrorHandler((socket) => responses.get(socket)));
  hub.attach(server);

  let address: AddressInfo;
  try {
    address = await listen(server, config.port, config.host);
  } catch (err) {
    await runner.close();
    await dispatcher.close();
    await hub.close();
    await state.close();
    throw err;
  }
  localBase = `http://${dialHost(config.host)}:${address.port}`;
  const resolved: GatewayConfig = { ...config, port: address.port };

  let closing: Promise<void> | null = null;
  return {
    url: localBase,
    wsUrl: `${localBase.replace(/^http/, 'ws')}/socket`,
    apiKey: config.apiKey,
    webhookSecret: config.webhookSecret,
    projectId: config.projectId,
    projects: projects.all,
    config: resolved,
    workflows,
    storage: state.mode,
    nodeId: state.nodeId,
    stats() {
      const hubStats = hub.stats();
      return { sockets: hubStats.sockets, channels: hubStats.channels, activeRequests: runner.active, requestLogs: store.size };
    },
    close() {
      closing ??= (async () => {
        await runner.close();
        await dispatcher.close();
        await hub.close();
        await state.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
