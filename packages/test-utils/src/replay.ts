/**
 * Turns a slice of the event log into the frames to send. Replays (and flushes
 * after a pause) may merge consecutive `tokens` into one frame covering
 * `first_seq..seq`, as the contract allows, which is exactly the case a client's
 * seq bookkeeping must get right.
 */
import type { ServerEvent, TokensPayload } from './wire-types.js';

/**
 * Returns `events` unchanged, or with each run of two or more consecutive
 * `tokens` merged into `{seq: <last>, first_seq: <first>, delta: <concatenation>}`.
 *
 * @example
 * planDelivery([
 *   { event: 'tokens', payload: { seq: 1, delta: 'a' } },
 *   { event: 'tokens', payload: { seq: 2, delta: 'b' } },
 * ], true);
 * // [{ event: 'tokens', payload: { seq: 2, first_seq: 1, delta: 'ab' } }]
 */
export function planDelivery(events: readonly ServerEvent[], merge: boolean): ServerEvent[] {
  if (!merge) return events.slice();
  const out: ServerEvent[] = [];
  let run: TokensPayload[] = [];
  const flush = (): void => {
    const first = run[0];
    const last = run[run.length - 1];
    if (first && last) {
      out.push(
        run.length === 1
          ? { event: 'tokens', payload: first }
          : {
              event: 'tokens',
              payload: { seq: last.seq, first_seq: first.first_seq ?? first.seq, delta: run.map((p) => p.delta).join('') },
            },
      );
    }
    run = [];
  };
  for (const e of events) {
    if (e.event === 'tokens') {
      run.push(e.payload);
    } else {
      flush();
      out.push(e);
    }
  }
  flush();
  return out;
}
