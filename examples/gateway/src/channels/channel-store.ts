/**
 * The channels one node knows: the ones it runs, and local copies (mirrors) of ones another node
 * runs that sockets here joined. It owns their lifecycle (open, adopt, finish, retention, drop)
 * and is the hub's side of the backplane: what the store confirms or other nodes append comes in
 * here. The socket server (hub.ts) asks it for channels and never touches this bookkeeping.
 */
import { channelTopic } from '@modelriver/client';
import type { BackplaneHost, ChannelBackplane, LoadedChannel } from './backplane.js';
import { Channel, type ChannelHost } from './channel.js';
import { ChannelHubError } from './errors.js';
import type { Slot } from './log.js';
import { MirrorFeed, type MirrorBatch } from './mirror.js';
import { isUuid } from './topic.js';
import type { ChannelHooks } from './types.js';

/** Options of {@link ChannelStore}. */
export interface ChannelStoreOptions {
  /** The project of channels opened without one. */
  projectId: string;
  now: () => number;
  /** How long a finished channel stays here for late joins. */
  retentionMs: number;
  backplane?: ChannelBackplane;
  /** Told of a hook's exception or a store failure; neither reaches the sockets. */
  reportError: (error: unknown) => void;
}

/**
 * See the module comment.
 *
 * @example
 * ```ts
 * const channels = new ChannelStore({ projectId, now: Date.now, retentionMs: 600_000, reportError });
 * const channel = channels.open(channelId, { onCancel });
 * channels.live(channelId) === channel; // true
 * ```
 */
export class ChannelStore implements ChannelHost, BackplaneHost {
  private readonly channels = new Map<string, Channel>();
  /** Channels run elsewhere being loaded for a join here, with the events that arrived meanwhile. */
  private readonly loading = new Map<string, { promise: Promise<Channel | undefined>; backlog: MirrorBatch[] }>();
  /** Finished channels in the order they finished, hence in the order they expire. */
  private finishedQueue: Channel[] = [];
  private readonly backplane: ChannelBackplane | undefined;
  private closed = false;

  constructor(private readonly options: ChannelStoreOptions) {
    this.backplane = options.backplane;
    this.backplane?.bind(this);
  }

  get size(): number {
    return this.channels.size;
  }

  /** Whether this node writes to the store (channels then become visible once it has them). */
  get shared(): boolean {
    return this.backplane !== undefined;
  }

  open(channelId: string, hooks: ChannelHooks): Channel {
    if (!isUuid(channelId)) throw new ChannelHubError('invalid_channel_id', 'channelId must be a UUID');
    const projectId = hooks?.projectId ?? this.options.projectId;
    if (!isUuid(projectId)) throw new ChannelHubError('invalid_project_id', 'projectId must be a UUID');
    if (typeof hooks?.onCancel !== 'function') {
      throw new ChannelHubError('invalid_option', 'hooks.onCancel must be a function');
    }
    if (this.live(channelId) !== undefined) {
      throw new ChannelHubError('channel_exists', `channel ${channelId} is already open`);
    }
    const channel = new Channel(channelId, channelTopic(projectId, channelId), hooks.onCancel, this, hooks.onFenced);
    this.channels.set(channelId, channel);
    this.backplane?.opened(channelId, channel.topic);
    return channel;
  }

  async adopt(channelId: string, hooks: ChannelHooks): Promise<Channel | undefined> {
    if (this.backplane === undefined) return undefined;
    const loaded = await this.backplane.load(channelId, 0);
    if (loaded === undefined || this.closed) return undefined;
    const channel = new Channel(channelId, loaded.topic, hooks.onCancel, this, hooks.onFenced);
    for (const slot of loaded.slots) channel.log.appendSlot(slot);
    channel.visibleSeq = channel.log.lastSeq;
    channel.cancelledElsewhere = loaded.cancelRequested === true;
    // Sockets here that followed the channel as a mirror now follow it from its new owner.
    const mirror = this.channels.get(channelId);
    this.channels.set(channelId, channel);
    if (mirror !== undefined && mirror !== channel) {
      mirror.dropped = true;
      for (const connection of mirror.subscribers) {
        connection.moveTo(channel);
        channel.subscribers.add(connection);
        connection.flush(false);
      }
      mirror.subscribers.clear();
    }
    return channel;
  }

  /** The channel here, unless unknown or past its retention (then it is dropped on the spot). */
  live(channelId: string): Channel | undefined {
    const channel = this.channels.get(channelId);
    if (channel === undefined) return undefined;
    if (channel.finished && this.options.now() - channel.finishedAt >= this.options.retentionMs) {
      this.drop(channel);
      return undefined;
    }
    return channel;
  }

  /** Whether this node runs the channel (rather than following it). */
  runsHere(channelId: string): boolean {
    const channel = this.live(channelId);
    return channel !== undefined && channel.feed === null;
  }

  /**
   * The channel for a join here: the one this node has, or one another node runs, loaded from
   * the store (once, however many sockets ask at the same time).
   */
  forJoin(channelId: string): Channel | Promise<Channel | undefined> | undefined {
    const local = this.live(channelId);
    if (local !== undefined || this.backplane === undefined) return local;
    return this.mirror(channelId, this.backplane);
  }

  /** A live channel run on any node (its topic), or `undefined`. */
  async describe(channelId: string): Promise<{ channelId: string; topic: string } | undefined> {
    const channel = this.live(channelId);
    if (channel !== undefined) return { channelId, topic: channel.topic };
    if (this.backplane === undefined || !isUuid(channelId)) return undefined;
    const loaded = await this.backplane.load(channelId, Number.MAX_SAFE_INTEGER);
    return loaded === undefined ? undefined : { channelId, topic: loaded.topic };
  }

  /** Resolves once what this node handed the store so far is in it (at once without a store). */
  written(): Promise<void> {
    return this.backplane?.written() ?? Promise.resolve();
  }

  /** A socket here left `channel`: a mirror nobody here follows any more is dropped. */
  left(channel: Channel): void {
    if (channel.feed !== null && channel.subscribers.size === 0) this.drop(channel);
  }

  /** Drops the finished channels whose retention has passed. */
  expire(now: number): void {
    let expired = 0;
    const queue = this.finishedQueue;
    while (expired < queue.length && now - (queue[expired] as Channel).finishedAt >= this.options.retentionMs) {
      this.drop(queue[expired] as Channel);
      expired++;
    }
    if (expired > 0) this.finishedQueue = queue.slice(expired);
  }

  close(): void {
    this.closed = true;
    for (const channel of this.channels.values()) {
      channel.dropped = true;
      channel.subscribers.clear();
    }
    this.channels.clear();
    this.loading.clear();
    this.finishedQueue = [];
  }

  // ---- ChannelHost --------------------------------------------------------------------------

  channelFinished(channel: Channel): void {
    channel.finishedAt = this.options.now();
    this.finishedQueue.push(channel);
    if (channel.feed === null && !channel.fenced) this.backplane?.finished(channel.channelId, channel.log.lastSeq);
  }

  channelAppended(channel: Channel, seq: number): void {
    if (this.backplane === undefined) {
      channel.reveal(seq);
      return;
    }
    // Sockets see it once the store has it (durable()); a fenced node's writes go nowhere.
    if (!channel.fenced) this.backplane.appended(channel.channelId, seq, channel.log.slotAt(seq) as Slot);
  }

  channelReleased(channel: Channel): void {
    const backplane = this.backplane;
    if (backplane === undefined || channel.feed !== null || channel.dropped) return;
    channel.fenced = true;
    // What the store never took is not the channel's: the new owner writes those seqs anew.
    channel.log.truncate(channel.visibleSeq);
    channel.feed = this.feedFor(channel, backplane);
    void channel.feed.refill();
  }

  reportError(error: unknown): void {
    try {
      this.options.reportError(error);
    } catch {
      // An error reporter that throws has nowhere left to report to.
    }
  }

  // ---- BackplaneHost ------------------------------------------------------------------------

  durable(channelId: string, seq: number): void {
    const channel = this.channels.get(channelId);
    if (channel !== undefined && channel.feed === null) channel.reveal(seq);
  }

  remote(channelId: string, firstSeq: number, slots: readonly Slot[], finished: boolean): void {
    const channel = this.channels.get(channelId);
    if (channel?.feed) {
      channel.feed.push({ firstSeq, slots, finished });
      return;
    }
    this.loading.get(channelId)?.backlog.push({ firstSeq, slots, finished });
  }

  cancel(channelId: string): void {
    const channel = this.channels.get(channelId);
    if (channel !== undefined && channel.feed === null) channel.requestCancel();
  }

  fenced(channelId: string): void {
    const channel = this.channels.get(channelId);
    if (channel === undefined || channel.feed !== null || channel.fenced) return;
    this.channelReleased(channel);
    channel.notifyFenced();
  }

  resync(): void {
    for (const channel of this.channels.values()) void channel.feed?.refill();
  }

  // ---- internals ----------------------------------------------------------------------------

  private drop(channel: Channel): void {
    if (channel.dropped) return;
    channel.dropped = true;
    if (this.channels.get(channel.channelId) === channel) this.channels.delete(channel.channelId);
    for (const connection of channel.subscribers) {
      // Whatever a slow socket still lacks goes out now, past the high-water mark: the log that
      // would have fed it later is going away. The hard cap still applies.
      connection.flush(true);
      connection.unsubscribe();
    }
    channel.subscribers.clear();
  }

  private mirror(channelId: string, backplane: ChannelBackplane): Promise<Channel | undefined> {
    const existing = this.loading.get(channelId);
    if (existing !== undefined) return existing.promise;
    const backlog: MirrorBatch[] = [];
    const promise = backplane.load(channelId, 0).then(
      (loaded) => {
        this.loading.delete(channelId);
        if (loaded === undefined || this.closed) return undefined;
        const raced = this.live(channelId);
        if (raced !== undefined) return raced;
        const channel = this.mirrorOf(channelId, loaded, backplane);
        for (const batch of backlog) channel.feed?.push(batch);
        return channel;
      },
      (error: unknown) => {
        this.loading.delete(channelId);
        throw error;
      },
    );
    this.loading.set(channelId, { promise, backlog });
    return promise;
  }

  private mirrorOf(channelId: string, loaded: LoadedChannel, backplane: ChannelBackplane): Channel {
    const channel = new Channel(channelId, loaded.topic, () => backplane.cancel(channelId), this);
    channel.feed = this.feedFor(channel, backplane);
    channel.feed.push({ firstSeq: loaded.afterSeq + 1, slots: loaded.slots, finished: loaded.finished });
    this.channels.set(channelId, channel);
    return channel;
  }

  private feedFor(channel: Channel, backplane: ChannelBackplane): MirrorFeed {
    return new MirrorFeed(channel, {
      load: (afterSeq) => backplane.load(channel.channelId, afterSeq),
      finished: () => {
        if (!channel.finished) this.channelFinished(channel);
      },
      reportError: (error) => this.reportError(error),
    });
  }
}
