import type { LoadedChannel } from './backplane.js';
import type { EventLog, Slot } from './log.js';

/** Events of a channel run on another node, as they reach this one. */
export interface MirrorBatch {
  firstSeq: number;
  slots: readonly Slot[];
  finished: boolean;
}

/** The copy a {@link MirrorFeed} fills: a channel's log and what its sockets may be sent. */
export interface MirrorTarget {
  readonly log: EventLog;
  readonly dropped: boolean;
  /** Sends every event up to `seq` to the channel's sockets. */
  reveal(seq: number): void;
}

/** What a {@link MirrorFeed} needs from its hub. */
export interface MirrorSource {
  /** The channel's events after `afterSeq`, from the store. */
  load(afterSeq: number): Promise<LoadedChannel | undefined>;
  /** The channel's terminal event has been seen. */
  finished(): void;
  reportError(error: unknown): void;
}

/**
 * Keeps a local copy of a channel that another node runs, for the sockets here that joined it.
 * Batches may overlap what it has (a load and a live batch racing) or leave a gap (a batch lost
 * while the link to the store was down): overlaps are skipped by seq, gaps are filled from the
 * store before anything after them is shown, so sockets see every event once, in order.
 *
 * @example
 * ```ts
 * const feed = new MirrorFeed(channel, { load: (after) => backplane.load(id, after), finished, reportError });
 * feed.push({ firstSeq: 1, slots: ['Hel', 'lo'], finished: false }); // channel.visibleSeq === 2
 * ```
 */
export class MirrorFeed {
  private filling = false;
  private backlog: MirrorBatch[] = [];

  constructor(
    private readonly channel: MirrorTarget,
    private readonly source: MirrorSource,
  ) {}

  push(batch: MirrorBatch): void {
    if (this.filling) {
      this.backlog.push(batch);
      return;
    }
    const log = this.channel.log;
    if (batch.firstSeq > log.lastSeq + 1) {
      this.backlog.push(batch);
      void this.refill();
      return;
    }
    for (let i = log.lastSeq + 1 - batch.firstSeq; i < batch.slots.length; i++) log.appendSlot(batch.slots[i] as Slot);
    this.channel.reveal(log.lastSeq);
    if (batch.finished) this.source.finished();
  }

  /** Fetches from the store what came after the last event here (after a gap or a lost link). */
  async refill(): Promise<void> {
    if (this.filling || this.channel.dropped) return;
    this.filling = true;
    let loaded: LoadedChannel | undefined;
    try {
      loaded = await this.source.load(this.channel.log.lastSeq);
    } catch (error) {
      // The store is away; the link's return triggers another refill (BackplaneHost.resync).
      this.source.reportError(error);
      this.filling = false;
      return;
    }
    this.filling = false;
    const backlog = this.backlog;
    this.backlog = [];
    if (loaded !== undefined) this.push({ firstSeq: loaded.afterSeq + 1, slots: loaded.slots, finished: loaded.finished });
    // Whatever is still ahead of the store's answer waits for the next batch or refill.
    for (const batch of backlog) if (batch.firstSeq + batch.slots.length - 1 > this.channel.log.lastSeq) this.push(batch);
  }
}
