/**
 * The seam between one node's socket server and the store its channels live in. Without one, a
 * hub keeps every channel in its own memory (one process, the default). With one (Redis), the
 * node that runs a request writes its events to the store and delivers them to its own sockets
 * once they are there; every other node follows the channel from the store for its own sockets.
 */
import type { Slot } from './log.js';
import type { ConnectTokens } from './tokens.js';

/** A channel as the store has it: enough for a node to replay it and follow it. */
export interface LoadedChannel {
  topic: string;
  /** The events after the `afterSeq` asked for, in seq order. */
  slots: Slot[];
  /** The seq of `slots[0]` minus one (the `afterSeq` asked for). */
  afterSeq: number;
  finished: boolean;
  /** A client asked to cancel it (possibly while no node ran it). */
  cancelRequested?: boolean;
}

/** What the backplane tells the hub it serves. */
export interface BackplaneHost {
  /** Every event up to `seq` of a channel this node runs is in the store: deliver them. */
  durable(channelId: string, seq: number): void;
  /** Events another node appended to a channel (in seq order; may overlap what the hub has). */
  remote(channelId: string, firstSeq: number, slots: readonly Slot[], finished: boolean): void;
  /** A client on another node asked to cancel a channel this node runs. */
  cancel(channelId: string): void;
  /** Another node took the channel over: this node must stop writing to it. */
  fenced(channelId: string): void;
  /** The link to the store was lost and is back: followed channels may have missed events. */
  resync(): void;
  reportError(error: unknown): void;
}

/** A store shared by several gateway nodes (see the module comment). */
export interface ChannelBackplane {
  readonly nodeId: string;
  readonly tokens: ConnectTokens;
  bind(host: BackplaneHost): void;
  /** A channel this node now runs (its first write). */
  opened(channelId: string, topic: string): void;
  /** An event this node appended to a channel it runs; {@link BackplaneHost.durable} follows. */
  appended(channelId: string, seq: number, slot: Slot): void;
  /** The channel's terminal response is written: keep it for the retention period, then drop it. */
  finished(channelId: string, lastSeq: number): void;
  /** The channel's events after `afterSeq`, or `undefined` when the store does not have it. */
  load(channelId: string, afterSeq?: number): Promise<LoadedChannel | undefined>;
  /** Routes a client's cancel to the node that runs the channel. */
  cancel(channelId: string): void;
  /** Resolves once everything handed over so far is in the store (before a token for it goes out). */
  written(): Promise<void>;
  /** Writes what is queued, then stops. */
  close(): Promise<void>;
}
