/**
 * What the clients measure from the `tokens` frames they receive: frames, sequence gaps, and the
 * latency of every stamped token due inside the measuring window.
 */
import { Samples, type Percentiles } from './samples.js';
import { forEachStamp } from './token-stamp.js';

const TOKENS_EVENT = ',"tokens",';
const SEQ = /"seq":(\d+)/;
const FIRST_SEQ = /"first_seq":(\d+)/;

/**
 * Counts over all the sockets of one client process.
 *
 * @example
 * ```ts
 * const meter = new TokenMeter();
 * await joinChannel(url, ticket, meter.socketListener());
 * meter.measure(wallNow());
 * // … later …
 * meter.endAt(wallNow());
 * meter.latency(); // { count, p50, p95, p99, max }
 * ```
 */
export class TokenMeter {
  private readonly samples = new Samples();
  private from = Number.POSITIVE_INFINITY;
  private until = Number.POSITIVE_INFINITY;
  private tokenCount = 0;
  private frameCount = 0;
  private seqErrorCount = 0;

  /** Stamped tokens received that were due inside the window. */
  get tokens(): number {
    return this.tokenCount;
  }
  /** `tokens` frames received since the window opened. */
  get frames(): number {
    return this.frameCount;
  }
  /** Frames that did not continue their socket's sequence, since the start. */
  get seqErrors(): number {
    return this.seqErrorCount;
  }

  /** Opens the window at `from` (wall clock): tokens due from then on count. */
  measure(from: number): void {
    this.samples.clear();
    this.tokenCount = 0;
    this.frameCount = 0;
    this.from = from;
    this.until = Number.POSITIVE_INFINITY;
  }

  /** Closes the window: tokens due from `until` on no longer count, those due before still do. */
  endAt(until: number): void {
    this.until = until;
  }

  latency(): Percentiles {
    return this.samples.percentiles();
  }

  /** The `onFrame` of one socket (it remembers that socket's last seq). */
  socketListener(): (text: string, at: number) => void {
    let lastSeq = -1;
    return (text, at) => {
      if (!text.includes(TOKENS_EVENT)) return;
      this.frameCount++;
      const seq = Number(SEQ.exec(text)?.[1]);
      // A merged frame (a socket that fell behind) starts at `first_seq`.
      const first = Number(FIRST_SEQ.exec(text)?.[1] ?? seq);
      if (lastSeq !== -1 && first !== lastSeq + 1) this.seqErrorCount++;
      lastSeq = seq;
      forEachStamp(text, (dueAt) => {
        if (dueAt < this.from || dueAt >= this.until) return;
        this.tokenCount++;
        this.samples.push(at - dueAt);
      });
    };
  }
}
