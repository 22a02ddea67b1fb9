/** Stand-in for `client-stream.ts`: `stream()` left out. */
import type { StreamHost } from '../../../packages/client/src/client-stream.js';
import type { EventStream } from '../../../packages/client/src/event-stream.js';

export type { StreamHost } from '../../../packages/client/src/client-stream.js';
export function openStream(_host: StreamHost): EventStream {
  throw new Error('stream() is left out of this bundle');
}
