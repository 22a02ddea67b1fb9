/**
 * The old name of the stream's errors, from when this package had a second class called
 * `ModelRiverError`. Kept so existing imports compile; it is the very same class.
 */
import { ModelRiverError } from '@modelriver/client/errors';

/**
 * @deprecated Use `ModelRiverError` (the same class): every error of the suite is one now.
 *
 * @example
 * ```ts
 * import { ModelRiverError } from '@modelriver/node';
 * for await (const event of stream) handle(event); // throws a ModelRiverError (e.g. code 'unauthorized')
 * ```
 */
export const StreamError: typeof ModelRiverError = ModelRiverError;
/** @deprecated Use `ModelRiverError`. */
export type StreamError = ModelRiverError;
