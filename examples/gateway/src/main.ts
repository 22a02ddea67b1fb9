/**
 * `npm run gateway`: loads the configuration (defaults ← JSON file ← environment), starts the gateway,
 * prints how to reach it, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { banner } from './banner.js';
import { ConfigError, loadConfig, type LoadedConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { consoleLogger } from './logger.js';
import { providersFromEnv } from './providers/openai-compatible.js';
import { createSignalHandler } from './shutdown.js';
import type { Provider } from './providers/provider.js';

async function main(): Promise<void> {
  // Handlers go in first: a Ctrl-C that lands while the gateway starts (or right as the banner is
  // printed) must be a clean stop too, never Node's default death by signal.
  let gateway: RunningGateway | null = null;
  let stopping = false;
  const shutdown = (): void => {
    if (gateway === null) return; // still starting: start-up finishes, sees the request and stops
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        consoleLogger.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  const onSignal = createSignalHandler({
    now: () => performance.now(),
    stop: (signal) => {
      stopping = true;
      consoleLogger.info(`${signal} received, shutting down`);
      shutdown();
    },
    exitNow: () => process.exit(130),
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let loaded: LoadedConfig;
  let envProviders: Provider[];
  try {
    loaded = loadConfig({ env: process.env, cwd: process.cwd() });
    envProviders = providersFromEnv(process.env);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'invalid_config';
    console.error(`gateway: cannot start (${code}): ${(err as Error).message}`);
    process.exit(1);
  }

  try {
    // An id nobody configured is not passed on: nodes sharing one Redis then agree on one.
    const { projectId: _fresh, ...rest } = loaded.config;
    const overrides = loaded.projectIdConfigured ? loaded.config : rest;
    gateway = await startGateway(overrides, { logger: consoleLogger, envProviders, env: process.env });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      console.error(`gateway: port ${loaded.config.port} is already in use; set PORT to another one (PORT=0 picks a free port)`);
    } else if (err instanceof ConfigError) {
      console.error(`gateway: cannot start (${err.code}): ${err.message}`);
    } else {
      console.error('gateway: cannot start:', err);
    }
    process.exit(1);
  }
  if (stopping) {
    shutdown();
    return;
  }
  console.log(banner(gateway, loaded, envProviders));
}

void main();
