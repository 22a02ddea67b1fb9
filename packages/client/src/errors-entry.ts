/**
 * `@modelriver/client/errors`: the error family alone, for code that must not load the client,
 * eventemitter3 or `ws` (e.g. `@modelriver/node/webhooks` on an edge runtime). The same classes
 * as the main entry's, so `instanceof` holds whichever entry created or tests the error.
 */
export { ModelRiverError, ErrorCode, TERMINAL_ERROR_CODES } from './errors.js';
export type { ModelRiverErrorOptions } from './errors.js';
