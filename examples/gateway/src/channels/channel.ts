import type { ServerEventMap, ServerEventName } from '@modelriver/client';
import type { Connection } from './connection.js';
import { ChannelHubError } from './errors.js';
import { EventLog, type OutgoingEvent } from './log.js';
import type { MirrorFeed } from './mirror.js';
import type { ChannelHandle } from './types.js';

/** What a channel asks of the hub that owns it. */
export interface ChannelHost {
  /** Called once, on the first `finish()`: the hub stamps `finishedAt` and schedules the log's removal. */
  channelFinished(channel: Channel): void;
  /** This node no longer runs the channel: its sockets here follow whoever does. */
  channelReleased(channel: Channel): void;
  /** An event was appended at `seq`: the hub makes it visible now, or once the store has it. */
  channelAppended(channel: Channel, seq: number): void;
  /** Reports an exception thrown by a hook (`onCancel`), which must not reach the socket code. */
  reportError(error: unknown): void;
}

/**
 * One streaming channel: its event log, the sockets that joined it, and its cancel hook.
 * The hub hands it out as a {@link ChannelHandle}; publishing is synchronous and costs one write
 * attempt per joined socket, whatever their state.
 *
 * @example
 * ```ts
 * const channel = hub.open(channelId, { onCancel: () => controller.abort() });
 * channel.publish('status', { status: 'processing' }); // 1
 * channel.publish('tokens', { delta: 'Hi' });          // 2
 * channel.finish();
 * ```
 */
export class Channel implements ChannelHandle {
  readonly log = new EventLog();
  readonly subscribers = new Set<Connection<Channel>>();
  /** The topic as a JSON string, spliced into every push. */
  readonly topicJson: string;
  /** When `finish()` was first called (-1: still live). */
  finishedAt = -1;
  /** Set once the log is gone (retention elapsed or hub closed). */
  dropped = false;
  /**
   * The last seq sockets may be sent. Equal to the log's end in memory; behind a store, only
   * what the store has, so no client ever sees an event that a node failure could take back.
   */
  visibleSeq = 0;
  /** Another node took this channel over: what this node publishes now is dropped. */
  fenced = false;
  /** Set when another node runs this channel and this one only follows it for its sockets. */
  feed: MirrorFeed | null = null;
  private cancelled = false;

  constructor(
    readonly channelId: string,
    readonly topic: string,
    private readonly onCancel: () => void,
    private readonly host: ChannelHost,
    private readonly onFenced?: () => void,
  ) {
    this.topicJson = JSON.stringify(topic);
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  get finished(): boolean {
    return this.finishedAt !== -1;
  }

  publish<K extends ServerEventName>(event: K, payload: Omit<ServerEventMap[K], 'seq'>): number {
    if (this.finished) {
      throw new ChannelHubError('channel_finished', `channel ${this.channelId} is finished; nothing more can be published`);
    }
    // Another node runs it now: what this one would add goes nowhere (the seq is not taken).
    if (this.fenced) return this.log.lastSeq + 1;
    const seq = this.log.append(event, payload);
    this.host.channelAppended(this, seq);
    return seq;
  }

  /** Delivers every event up to `seq` to the joined sockets (encoded once, and not when nobody listens). */
  reveal(seq: number): void {
    if (seq <= this.visibleSeq) return;
    const from = this.visibleSeq + 1;
    this.visibleSeq = seq;
    if (this.subscribers.size === 0) return;
    for (let at = from; at <= seq; at++) {
      const entry = this.log.at(at) as OutgoingEvent;
      for (const connection of this.subscribers) connection.offer(entry);
    }
  }

  finish(): void {
    if (this.finished || this.fenced) return;
    this.host.channelFinished(this);
  }

  history(): Array<{ seq: number; event: ServerEventName; payload: Record<string, unknown> }> {
    const events: Array<{ seq: number; event: ServerEventName; payload: Record<string, unknown> }> = [];
    for (let seq = 1; seq <= this.log.lastSeq; seq++) {
      const entry = this.log.at(seq) as OutgoingEvent;
      events.push({ seq, event: entry.event, payload: JSON.parse(entry.json) as Record<string, unknown> });
    }
    return events;
  }

  /** Tells the runner that another node runs this channel now (its hook's errors are reported). */
  notifyFenced(): void {
    try {
      this.onFenced?.();
    } catch (error) {
      this.host.reportError(error);
    }
  }

  release(): void {
    this.host.channelReleased(this);
  }

  /** Whether a client asked to cancel, here or (`cancelledElsewhere`) while another node ran it. */
  get cancelRequested(): boolean {
    return this.cancelled || this.cancelledElsewhere;
  }

  /** Set when the channel was adopted with a cancel its previous node never acted on. */
  cancelledElsewhere = false;

  /** A client asked to cancel: the hook runs once, and never after the channel finished. */
  requestCancel(): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    try {
      this.onCancel();
    } catch (error) {
      this.host.reportError(error);
    }
  }
}
