/**
 * `stream()`'s wiring: one `EventStream` fed by the session it started. The session
 * pushes each event into it as it arrives (session.ts) and ends or fails it with the
 * request; a `break` disconnects, and an aborted signal cancels the request.
 */
import type { ModelRiverClient } from './client.js';
import { ModelRiverError } from './errors.js';
import { EventStream } from './event-stream.js';
import type { ConnectOptions } from './types.js';

/** Connects with `options` (already validated) and returns the stream of the session it started. */
export function openStream(c: ModelRiverClient, options: ConnectOptions, signal: AbortSignal | undefined): EventStream {
  const stream = new EventStream();
  const aborted = (): ModelRiverError => new ModelRiverError('cancelled', 'the stream was aborted', { name: 'AbortError' });
  if (signal?.aborted) {
    stream.fail(aborted());
    return stream;
  }
  c.connect(options);
  const session = c._active();
  if (session === null) {
    stream.fail(new ModelRiverError('not_connected', 'the request could not start'));
    return stream;
  }
  // A session feeds one stream: the one a repeated stream() for the same request returns.
  session._detachSink();
  const onAbort = (): void => {
    if (c._session === session && !session._ended) c.cancel().catch(() => undefined);
    detach();
    stream.fail(aborted());
  };
  const detach = (): void => {
    if (session._sink === stream) session._sink = null;
    signal?.removeEventListener('abort', onAbort);
  };
  session._sink = stream;
  session._detachSink = detach;
  signal?.addEventListener('abort', onAbort, { once: true });
  stream.onReturn = () => {
    detach();
    if (c._session === session && !session._ended) c.disconnect();
  };
  return stream;
}
