/** Stand-in for `client-stream.ts`: `stream()` left out. */
import type { EventStream } from '../../../packages/client/src/event-stream.js';

export function openStream(): EventStream {
  throw new Error('stream() is left out of this bundle');
}
