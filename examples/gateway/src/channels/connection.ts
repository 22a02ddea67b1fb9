import type { WebSocket } from 'ws';
import type { Frame } from '@modelriver/client';
import { pushFrame } from './frames.js';
import type { EventLog } from './log.js';
import { JoinRate } from './join-rate.js';
import type { OutgoingEvent } from './log.js';

/** What a connection delivers from: a channel's log, as far as its sockets may be sent it. */
export interface DeliverySource {
  readonly log: EventLog;
  readonly visibleSeq: number;
  /** The topic as a JSON string, spliced into every push. */
  readonly topicJson: string;
}

/** `WebSocket.OPEN`, inlined to keep `ws` a type-only import here. */
const OPEN = 1;

/** Flow-control settings shared by every connection of a hub. */
export interface DeliveryLimits {
  /** `bufferedAmount` above which nothing more is written until the socket drains. */
  readonly highWaterMark: number;
  /** Cap on the delta of one merged `tokens` frame, in UTF-16 units. */
  readonly maxMergedChars: number;
  /** The hub's hard cap on `bufferedAmount`; frames larger than it are tracked while in flight. */
  readonly hardCap: number;
  /** Joins a socket may make at once, and the rate they are refilled at. */
  readonly joinBurst: number;
  readonly joinsPerSecond: number;
}

/**
 * One client socket and its (at most one) subscription. A token is bound to one topic, so a
 * socket can only ever join that topic; a second join replaces the first.
 *
 * Delivery is a cursor into the channel's shared log (`sentSeq`), not a per-socket queue: a
 * socket that falls behind costs no memory beyond the log the channel keeps anyway, and catching
 * up is the same code path as the replay on join (runs of `tokens` merged, everything in seq
 * order, nothing skipped or sent twice).
 *
 * @example
 * ```ts
 * const conn = new Connection(ws, topic, Date.now(), limits);
 * conn.subscribe(channel, '1', 0); // join_ref "1", replay from the start
 * conn.flush(false);                // writes the replay, up to the high-water mark
 * ```
 */
export class Connection<C extends DeliverySource = DeliverySource> {
  /** When the client last sent anything (heartbeats included). */
  lastSeenAt: number;
  channel: C | null = null;
  /** The join_ref of the current subscription, JSON-encoded once for every push. */
  joinRefJson = 'null';
  /** Highest seq written to this socket (or claimed by the client on join). */
  sentSeq = 0;
  /** True while events wait in the log for the socket to drain. */
  lagging = false;
  /** When `bufferedAmount` was first seen over the hard cap (-1: it is not). */
  overCapSince = -1;
  /** When the hub started closing this socket (-1: it has not). */
  closingSince = -1;
  /**
   * Bytes of frames larger than the hard cap that are still being written. The hub exempts them
   * from the cap (an event bigger than the cap must still get through, or a resuming client would
   * be closed again by its own replay, forever) and holds them to a drain deadline instead.
   */
  oversizeBytes = 0;
  /** When the sweep first saw the current oversize bytes in flight (-1: none, or one just drained). */
  oversizeSince = -1;
  /** Frames that arrived while an earlier one waited on the store (null: none is waiting). */
  queued: Frame[] | null = null;
  /** The resume token minted by this socket's latest join; its next join revokes it. */
  resumeToken: string | null = null;
  readonly joinRate: JoinRate;
  /** Passed with every write: resumes delivery as the socket drains. One per socket, not per frame. */
  private readonly written: (error?: Error | null) => void;

  constructor(
    readonly ws: WebSocket,
    /** The topic this socket's token allows. */
    readonly topic: string,
    now: number,
    private readonly limits: DeliveryLimits,
  ) {
    this.lastSeenAt = now;
    this.joinRate = new JoinRate(limits.joinBurst, limits.joinsPerSecond, now);
    this.written = (error) => {
      if (!error && this.lagging) this.flush(false);
    };
  }

  /** Writes one text frame (unless the socket is closing). */
  send(text: string): void {
    if (this.ws.readyState !== OPEN) return;
    // UTF-8 needs at most 3 bytes per UTF-16 unit, so only a frame that might be over the cap is measured.
    if (text.length * 3 > this.limits.hardCap) {
      const bytes = Buffer.byteLength(text);
      if (bytes > this.limits.hardCap) {
        this.oversizeBytes += bytes;
        this.ws.send(text, (error) => {
          this.oversizeBytes -= bytes;
          this.oversizeSince = -1;
          this.written(error);
        });
        return;
      }
    }
    this.ws.send(text, this.written);
  }

  /** Starts delivering `channel` after `afterSeq`; call {@link flush} to send the replay. */
  subscribe(channel: C, joinRef: string | null, afterSeq: number): void {
    this.channel = channel;
    this.joinRefJson = JSON.stringify(joinRef);
    this.sentSeq = afterSeq;
    this.lagging = false;
  }

  /** Follows the same channel under a new owner object, keeping its place in the log. */
  moveTo(channel: C): void {
    this.channel = channel;
  }

  unsubscribe(): void {
    this.channel = null;
    this.lagging = false;
  }

  /**
   * Live delivery of the entry just appended to the joined channel's log: written at once when
   * the socket is caught up and under the high-water mark, otherwise left in the log for
   * {@link flush} (which the write callbacks trigger as the socket drains).
   */
  offer(entry: OutgoingEvent): void {
    const channel = this.channel;
    if (channel === null || entry.seq <= this.sentSeq) return;
    if (!this.lagging && entry.seq === this.sentSeq + 1 && this.ws.bufferedAmount <= this.limits.highWaterMark) {
      this.send(pushFrame(this.joinRefJson, channel.topicJson, entry.event, entry.json));
      this.sentSeq = entry.seq;
    } else {
      this.lagging = true;
    }
  }

  /**
   * Sends what the log holds after `sentSeq`, merging runs of `tokens`, until caught up or until
   * the socket is over the high-water mark (`force` ignores the mark: the log is about to go).
   */
  flush(force: boolean): void {
    const channel = this.channel;
    if (channel === null) return;
    const { log } = channel;
    while (this.sentSeq < channel.visibleSeq) {
      if (this.ws.readyState !== OPEN) return;
      if (!force && this.ws.bufferedAmount > this.limits.highWaterMark) {
        this.lagging = true;
        return;
      }
      let next = log.next(this.sentSeq, this.limits.maxMergedChars) as OutgoingEvent;
      // A merged run must not reach past what is visible (the rest is not in the store yet).
      if (next.seq > channel.visibleSeq) next = log.at(this.sentSeq + 1) as OutgoingEvent;
      this.send(pushFrame(this.joinRefJson, channel.topicJson, next.event, next.json));
      this.sentSeq = next.seq;
    }
    this.lagging = false;
  }
}
