/** The error of a setting that cannot be used (its own module: workflows and config both throw it). */

/**
 * A setting that cannot be used; `code` is always `invalid_config`.
 *
 * @example
 * ```ts
 * try { resolveConfig({ port: -1 }); } catch (err) { if (err instanceof ConfigError) console.error(err.message); }
 * ```
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'invalid_config';
  constructor(message: string) {
    super(message);
  }
}
