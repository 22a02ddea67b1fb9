/**
 * Keeps a flood of identical store errors out of the log. While Redis is down every failed
 * command (each request log save, each routing update…) reports an error: hundreds a second, all
 * alike. The first error of a kind is reported in full; repeats within a window are only counted,
 * and one line says how many there were when the window is over or on flush.
 */

/** What {@link createErrorThrottle} needs. */
export interface ErrorThrottleOptions {
  /** Reports one error in full. */
  report: (error: unknown) => void;
  /** Writes the one line that counts the repeats not reported. */
  summarize: (line: string) => void;
  /** How long repeats of a kind are counted instead of reported. Default 10 s. */
  windowMs?: number;
  /** How many kinds are remembered; the least recently seen is forgotten first. Default 100. */
  maxKinds?: number;
  /** The clock. Default `Date.now`. */
  now?: () => number;
}

/** A throttled error reporter (see the module comment). */
export interface ErrorThrottle {
  /** Reports `error` in full, or counts it if one like it was reported within the window. */
  report(error: unknown): void;
  /** Writes the count line of every kind with repeats not yet told, and starts afresh. */
  flush(): void;
}

const DEFAULT_WINDOW_MS = 10_000;
const DEFAULT_MAX_KINDS = 100;
/** Longer kinds are cut: an error message can be arbitrarily long and each kind is kept. */
const MAX_KIND_LENGTH = 200;

interface KindState {
  /** When the error that opened the window was reported in full. */
  since: number;
  /** Repeats counted since then and not yet told. */
  suppressed: number;
}

/**
 * What makes two errors "alike": the error's `code` if it is a string, else its `message`, else
 * its text; cut to 200 characters.
 *
 * @example
 * ```ts
 * errorKind(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' })); // 'ECONNREFUSED'
 * errorKind(new Error('Connection is closed.')); // 'Connection is closed.'
 * ```
 */
export function errorKind(error: unknown): string {
  let kind: string;
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string') {
    kind = (error as { code: string }).code;
  } else if (typeof error === 'object' && error !== null && typeof (error as { message?: unknown }).message === 'string') {
    kind = (error as { message: string }).message;
  } else {
    try {
      kind = String(error);
    } catch {
      // An object without a usable toString (Object.create(null)) must not break error reporting.
      kind = Object.prototype.toString.call(error);
    }
  }
  return kind.length > MAX_KIND_LENGTH ? kind.slice(0, MAX_KIND_LENGTH) : kind;
}

/**
 * Wraps a report function so each kind of error (see {@link errorKind}) is reported in full at
 * most once per `windowMs`; the repeats are counted and told in one line ("… and N more like it
 * in the last X s") when the next error of that kind arrives after the window, when the kind is
 * forgotten to make room for others, or on `flush()`.
 *
 * @example
 * ```ts
 * const throttle = createErrorThrottle({
 *   report: (error) => logger.error('redis store', error),
 *   summarize: (line) => logger.error(`redis store: ${line}`),
 * });
 * const onError = (error: unknown): void => throttle.report(error);
 * // on shutdown:
 * throttle.flush();
 * ```
 */
export function createErrorThrottle(options: ErrorThrottleOptions): ErrorThrottle {
  const windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
  const maxKinds = Math.max(1, Math.floor(options.maxKinds ?? DEFAULT_MAX_KINDS));
  const now = options.now ?? Date.now;
  // Insertion order is recency order: a kind seen again is moved to the end.
  const kinds = new Map<string, KindState>();

  function tell(kind: string, state: KindState, at: number): void {
    if (state.suppressed === 0) return;
    const seconds = Math.max(1, Math.ceil((at - state.since) / 1000));
    const more = state.suppressed;
    state.suppressed = 0;
    options.summarize(`${kind}: … and ${more} more like it in the last ${seconds} s`);
  }

  return {
    report(error) {
      const kind = errorKind(error);
      const at = now();
      const state = kinds.get(kind);
      if (state !== undefined) {
        kinds.delete(kind);
        kinds.set(kind, state);
        if (at - state.since < windowMs) {
          state.suppressed++;
          return;
        }
        tell(kind, state, at);
        state.since = at;
        options.report(error);
        return;
      }
      kinds.set(kind, { since: at, suppressed: 0 });
      if (kinds.size > maxKinds) {
        const [oldest, oldState] = kinds.entries().next().value as [string, KindState];
        kinds.delete(oldest);
        tell(oldest, oldState, at);
      }
      options.report(error);
    },
    flush() {
      const at = now();
      for (const [kind, state] of kinds) tell(kind, state, at);
      kinds.clear();
    },
  };
}
