/**
 * `stream()`'s wiring: one `EventStream` fed by the session it started. The session
 * pushes each event into it as it arrives (session.ts) and ends or fails it with the
 * request; a `break` disconnects, and an aborted signal cancels the request. A later
 * `stream()` for the same request takes the session over: the stream it replaces ends
 * as if its consumer had stopped (iteration finishes, `finalResponse()`/`finalText()`
 * reject with `stream_ended`, "replaced by a new stream()"), and a `break` out of it no
 * longer touches the request.
 */
import { ModelRiverError } from './errors.js';
import { EventStream } from './event-stream.js';
import type { Session } from './session.js';
import type { StateStore } from './state-store.js';
import type { ConnectParams } from './types.js';

/** What `stream()` uses of the client: its public methods, its session and the text it holds. */
export interface StreamHost {
  connect(options: ConnectParams): void;
  cancel(): Promise<void>;
  disconnect(): void;
  /** The session, unless there is none or it ended. */
  _active(): Session | null;
  readonly _store: StateStore;
}

/**
 * Connects with `options` (already validated) and returns the stream of the session it started.
 *
 * @example
 * ```ts
 * for await (const event of openStream(client, { channelId, wsToken }, signal)) render(event);
 * ```
 */
export function openStream(c: StreamHost, options: ConnectParams, signal: AbortSignal | undefined): EventStream {
  const stream = new EventStream();
  // Named ModelRiverError like every other error: `isAbort` (and `cause`, the signal's reason) tell an abort.
  const aborted = (): ModelRiverError => new ModelRiverError('cancelled', 'the stream was aborted', { abort: true, cause: signal?.reason });
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
  const onAbort = (): void => {
    if (c._active() === session) c.cancel().catch(() => undefined);
    detach(aborted());
  };
  // Stops feeding `stream` and fails it with `reason`, or ends it (`reason`: the final promises' message).
  const detach = (reason?: Error | string): void => {
    session._unfeed(stream);
    stream.onReturn = null;
    signal?.removeEventListener('abort', onAbort);
    if (reason instanceof Error) stream.fail(reason);
    else stream._end(reason);
  };
  // The client holds the request's text, with what came before this stream, for finalText(). It is
  // read at the terminal response, whose applying joined the pending deltas into it (flushText).
  stream._textOf = () => c._store._text();
  // A session feeds one stream: the one a repeated stream() for the same request returns.
  session._feed(stream, detach);
  signal?.addEventListener('abort', onAbort, { once: true });
  stream.onReturn = () => {
    detach();
    if (c._active() === session) c.disconnect();
  };
  return stream;
}
