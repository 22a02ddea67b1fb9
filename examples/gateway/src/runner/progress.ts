/**
 * How far a request got, read back from its channel's events: what a node taking the request
 * over needs to continue it where the node that died left off.
 */
import type { ServerEventName } from '@modelriver/client';

/** What {@link readProgress} finds. */
export interface Progress {
  /** Every text delta, concatenated: the response's `content` so far. */
  content: string;
  /** The text of the attempt under way (since its `status`): the prefix its continuation gets. */
  output: string;
  /** The latest `status` `processing` or `failover` (provider, model, attempt). */
  lastAttempt: Record<string, unknown> | null;
  /** The latest `response` (`ai_generated` while awaiting a callback, or a terminal one). */
  lastResponse: Record<string, unknown> | null;
  /** The first tool-call index the continuation may use. */
  toolIndexBase: number;
}

/**
 * Reads a channel's events in order.
 *
 * @example
 * ```ts
 * const progress = readProgress(handle.history());
 * progress.output; // 'Hello wor' — the continuing provider gets it as its prefix
 * ```
 */
export function readProgress(history: ReadonlyArray<{ event: ServerEventName; payload: Record<string, unknown> }>): Progress {
  const progress: Progress = { content: '', output: '', lastAttempt: null, lastResponse: null, toolIndexBase: 0 };
  for (const { event, payload } of history) {
    if (event === 'tokens') {
      const delta = typeof payload['delta'] === 'string' ? payload['delta'] : '';
      progress.content += delta;
      progress.output += delta;
    } else if (event === 'status' && (payload['status'] === 'processing' || payload['status'] === 'failover')) {
      progress.lastAttempt = payload;
      progress.output = '';
    } else if (event === 'tool_call' && typeof payload['index'] === 'number') {
      progress.toolIndexBase = Math.max(progress.toolIndexBase, payload['index'] + 1);
    } else if (event === 'response') {
      progress.lastResponse = payload;
    }
  }
  return progress;
}
