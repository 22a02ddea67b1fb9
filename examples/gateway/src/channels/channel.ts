import type { ServerEventMap, ServerEventName } from '@modelriver/client';
import type { Connection } from './connection.js';
import { ChannelHubError } from './errors.js';
import { EventLog, type OutgoingEvent } from './log.js';
import type { ChannelHandle } from './types.js';

/** What a channel asks of the hub that owns it. */
export interface ChannelHost {
  /** Called once, on the first `finish()`: the hub stamps `finishedAt` and schedules the log's removal. */
  channelFinished(channel: Channel): void;
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
  readonly subscribers = new Set<Connection>();
  /** The topic as a JSON string, spliced into every push. */
  readonly topicJson: string;
  /** When `finish()` was first called (-1: still live). */
  finishedAt = -1;
  /** Set once the log is gone (retention elapsed or hub closed). */
  dropped = false;
  private cancelled = false;

  constructor(
    readonly channelId: string,
    readonly topic: string,
    private readonly onCancel: () => void,
    private readonly host: ChannelHost,
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
    const seq = this.log.append(event, payload);
    // Encoded here, once for all subscribers, and not at all when nobody listens.
    if (this.subscribers.size > 0) {
      const entry = this.log.at(seq) as OutgoingEvent;
      for (const connection of this.subscribers) connection.offer(entry);
    }
    return seq;
  }

  finish(): void {
    if (this.finished) return;
    this.host.channelFinished(this);
  }

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
