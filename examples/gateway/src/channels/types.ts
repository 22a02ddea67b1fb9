import type { Server } from 'node:http';
import type { ServerEventMap, ServerEventName } from '@modelriver/client';
import type { ChannelBackplane } from './backplane.js';
import type { ListenerRegistry } from './listeners.js';

export interface ChannelHubOptions {
  projectId: string;
  /** Single-use ws_token lifetime. Default 5 min. */
  tokenTtlMs?: number;
  /** resume_token lifetime. Default 10 min. */
  resumeTokenTtlMs?: number;
  /** How long a finished channel's event log is kept for late joiners. Default 10 min. */
  retentionMs?: number;
  /** bufferedAmount above which pending `tokens` for a socket are merged. Default 64 KiB. */
  highWaterMark?: number;
  /**
   * bufferedAmount above which a socket that stays there is closed. Default 4 MiB. A frame larger
   * than this (one huge event) is exempt while it is written: the cap applies to what queues
   * behind it, and the frame must drain within `hardCapGraceMs` per `hardCap` bytes it holds.
   */
  hardCap?: number;
  /** How long a socket may stay over the hard cap before it is closed. Default 5 s. */
  hardCapGraceMs?: number;
  now?: () => number;
  /** A socket that sends nothing (not even a heartbeat) for this long is closed. Default 60 s. */
  idleTimeoutMs?: number;
  /** Period of the one shared sweep (idle sockets, hard cap, expired tokens). Default 1 s. */
  sweepIntervalMs?: number;
  /** Client frames larger than this are dropped unread (the socket stays open). Default 64 KiB. */
  maxFrameBytes?: number;
  /**
   * A client message larger than this closes the socket with 1009 (it is not even read). Default
   * 1 MiB; never below `maxFrameBytes`.
   */
  maxMessageBytes?: number;
  /** Joins a socket may send at once before `rate_limited` refusals. Default 10. */
  joinBurst?: number;
  /** Joins per second a socket gets back after its burst (a token bucket). Default 1. */
  joinsPerSecond?: number;
  /**
   * Live connect and resume tokens per channel; issuing one more revokes the oldest. Default 64.
   */
  maxTokensPerChannel?: number;
  /** Runs the sweep. Default: the process's setInterval (unref'd). Tests inject one to sweep by hand. */
  timers?: IntervalTimers;
  /** Cap on the delta of one merged `tokens` frame, in UTF-16 units. Default 16384. */
  maxMergedChars?: number;
  /** Source of token entropy. Default `crypto.randomBytes`. */
  randomBytes?: (size: number) => Uint8Array;
  /** Told after every successful join, once its reply and replay have been written. */
  onJoin?: (info: JoinInfo) => void;
  /**
   * Serves CLI listeners (`webhooks:{project_id}`, authenticated by `Authorization: Bearer <key>`
   * at the upgrade). Without it, an upgrade without a token is refused with 403 as before.
   */
  listeners?: ListenerRegistry;
  /** Told of exceptions thrown by hooks (`onCancel`, `onJoin`); they never reach the sockets. */
  onError?: (error: unknown) => void;
  /**
   * The store shared by several gateway nodes (Redis). Without it, channels and tokens live in
   * this process only.
   */
  backplane?: ChannelBackplane;
}

/** What the owner of a channel is told. */
export interface ChannelHooks {
  /** A client asked to cancel (on any node). */
  onCancel: () => void;
  /** Another node took the channel over (this one was thought dead): stop working on it. */
  onFenced?: () => void;
  /** A UUID: puts the channel in that project's topic instead of the hub's default project. */
  projectId?: string;
}

/** The periodic timer the hub's sweep runs on (`setInterval`/`clearInterval`, injectable). */
export interface IntervalTimers {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** A successful join, as reported to {@link ChannelHubOptions.onJoin}. */
export interface JoinInfo {
  channelId: string;
  topic: string;
  /** The `last_seq` the client asked to resume after (0 when absent or invalid). */
  fromSeq: number;
  /** The channel's latest seq at the join. */
  lastSeq: number;
}

/** Counters returned by {@link ChannelHub.stats}. */
export interface ChannelHubStats {
  sockets: number;
  channels: number;
  /** Sockets currently joined to a channel. */
  joined?: number;
  /** Joined sockets with events waiting for them to drain. */
  lagging?: number;
  /** Unused, unexpired connect and resume tokens. */
  tokens?: number;
  /** Client frames dropped as undecodable since the hub started. */
  droppedFrames?: number;
  /** Sockets closed for staying over the hard cap. */
  slowClosed?: number;
  /** Joins refused with `rate_limited` since the hub started. */
  rateLimitedJoins?: number;
}

/** The WebSocket side of the gateway: tokens, joins, replay, live delivery. */
export interface ChannelHub {
  /**
   * Registers a channel; events published before any join are kept and replayed. `projectId` (a
   * UUID) puts it in that project's topic instead of the hub's default project.
   */
  open(channelId: string, hooks: ChannelHooks): ChannelHandle;
  /**
   * Takes over a channel another node ran (from the shared store), with its log so far; its
   * sockets here, if any, follow it on. `undefined` without a store or when the store lacks it.
   */
  adopt(channelId: string, hooks: ChannelHooks): Promise<ChannelHandle | undefined>;
  /** A channel run on this node. */
  get(channelId: string): ChannelHandle | undefined;
  /** A live channel run on any node (its topic), or `undefined`. */
  describe(channelId: string): Promise<{ channelId: string; topic: string } | undefined>;
  /** Issues a single-use ws_token bound to the channel's topic (the channel may run on any node). */
  issueToken(channelId: string): Promise<string>;
  /** Serves `/socket/websocket` upgrades on this HTTP server. */
  attach(server: Server): void;
  close(): Promise<void>;
  stats(): ChannelHubStats;
}

export interface ChannelHandle {
  readonly channelId: string;
  /** `ai_response:{project_id}:{channel_id}` */
  readonly topic: string;
  readonly lastSeq: number;
  /** Appends an event (its `seq` is assigned here) and delivers it to every joined socket. */
  publish<K extends ServerEventName>(event: K, payload: Omit<ServerEventMap[K], 'seq'>): number;
  /** Call after the terminal response: the log is kept for `retentionMs`, then dropped. */
  finish(): void;
  /**
   * This node stops running the channel (another node took it over): what it publishes from now
   * on is dropped, and its sockets here follow the channel from the store.
   */
  release(): void;
  /** A client asked to cancel (on any node, also while no node ran it): a node taking it over honours it. */
  readonly cancelRequested: boolean;
  /** Every event so far, decoded (what a node taking the channel over continues from). */
  history(): Array<{ seq: number; event: ServerEventName; payload: Record<string, unknown> }>;
}
