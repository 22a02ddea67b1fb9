/**
 * Rejoin on a gap: what the session does with each event's `seq`. The next one in
 * order is applied; a duplicate is dropped; when events are missing (or a merged
 * frame straddles what is held) the channel is joined again with `last_seq`, so the
 * server replays them, up to a limit without progress. An invalid event that came
 * next in order is remembered: when the event after it arrives, it is skipped
 * rather than asked for again (the server would replay the same bytes).
 *
 * Private members start with `_` so the published build can mangle them.
 */
import { classifySeq } from './stream-state.js';

/** Rejoins for missing events allowed without any progress before the server is deemed broken. */
export const MAX_GAP_REJOINS_WITHOUT_PROGRESS = 10;

/**
 * What to do with an event: `skip` is `apply` after moving past the invalid event at
 * `lastSeq + 1`; `gap` and `overlap` ask for a rejoin.
 */
export type SeqVerdict = 'apply' | 'skip' | 'duplicate' | 'gap' | 'overlap';

/**
 * The seq bookkeeping of one request.
 *
 * @example
 * ```ts
 * const gaps = new GapRejoin();
 * gaps._verdict(4, { seq: 7 }); // 'gap'
 * if (gaps._again()) channel.rejoin();
 * ```
 */
export class GapRejoin {
  /** Gap/overlap rejoins since the last applied event. */
  declare private _rejoins: number;
  /** The seq of an invalid event that came next in order. */
  declare private _badSeq: number;

  constructor() {
    this._rejoins = this._badSeq = 0;
  }

  /** An event failed validation; `seq` is whatever its payload said. */
  _invalid(seq: unknown, lastSeq: number): void {
    if (seq === lastSeq + 1) this._badSeq = seq;
  }

  _verdict(lastSeq: number, payload: { seq: number; first_seq?: number }): SeqVerdict {
    const order = classifySeq(lastSeq, payload);
    const bad = this._badSeq;
    return order === 'gap' && bad === lastSeq + 1 && (payload.first_seq ?? payload.seq) === bad + 1 ? 'skip' : order;
  }

  /** An event was applied: the count of rejoins without progress starts again. */
  _progress(): void {
    this._rejoins = 0;
  }

  /** Whether another rejoin may ask for missing events (false: too many brought nothing). */
  _again(): boolean {
    return ++this._rejoins <= MAX_GAP_REJOINS_WITHOUT_PROGRESS;
  }
}
