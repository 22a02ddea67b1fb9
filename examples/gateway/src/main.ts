/**
 * `pnpm gateway`: loads the configuration (defaults ← JSON file ← environment), starts the gateway,
 * prints how to reach it, and shuts down cleanly on SIGINT/SIGTERM.
 */
import { banner } from './banner.js';
import { ConfigError, loadConfig, type LoadedConfig } from './config.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { consoleLogger } from './logger.js';
import { providersFromEnv } from './providers/openai-compatible.js';
import type { Provider } from './providers/provider.js';

async function main(): Promise<void> {
  let loaded: LoadedConfig;
  let envProviders: Provider[];
  try {
    loaded = loadConfig({ env: process.env, cwd: process.cwd() });
    envProviders = providersFromEnv(process.env);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'invalid_config';
    console.error(`gateway: cannot start (${code}): ${(err as Error).message}`);
    process.exitCode = 1;
    return;
  }

  let gateway: RunningGateway;
  try {
    gateway = await startGateway(loaded.config, { logger: consoleLogger, envProviders, env: process.env });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE') {
      console.error(`gateway: port ${loaded.config.port} is already in use; set PORT to another one (PORT=0 picks a free port)`);
    } else if (err instanceof ConfigError) {
      console.error(`gateway: cannot start (${err.code}): ${err.message}`);
    } else {
      console.error('gateway: cannot start:', err);
    }
    process.exitCode = 1;
    return;
  }
  console.log(banner(gateway, loaded, envProviders));

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // A second Ctrl-C means "now".
      process.exit(130);
    }
    stopping = true;
    consoleLogger.info(`${signal} received, shutting down`);
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        consoleLogger.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
