/** Where the gateway writes what an operator should see. Injected so tests stay quiet. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string, error?: unknown): void;
}

/**
 * A logger that drops everything but errors (the default of `startGateway`, so tests stay quiet
 * while real faults still show).
 *
 * @example
 * ```ts
 * await startGateway({ port: 0 }, { logger: quietLogger });
 * ```
 */
export const quietLogger: Logger = {
  info() {},
  warn() {},
  error(message, error) {
    console.error(`[gateway] ${message}`, error ?? '');
  },
};

/**
 * A logger writing to the console with a `[gateway]` prefix (used by `npm run gateway`).
 *
 * @example
 * ```ts
 * consoleLogger.info('listening');
 * ```
 */
export const consoleLogger: Logger = {
  info(message) {
    console.log(`[gateway] ${message}`);
  },
  warn(message) {
    console.warn(`[gateway] ${message}`);
  },
  error(message, error) {
    console.error(`[gateway] ${message}`, error ?? '');
  },
};
