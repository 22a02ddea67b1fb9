import type { Server } from 'node:http';
import type { ServerEventMap, ServerEventName } from '@modelriver/client';

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
  /** bufferedAmount above which a socket that stays there is closed. Default 4 MiB. */
  hardCap?: number;
  /** How long a socket may stay over the hard cap before it is closed. Default 5 s. */
  hardCapGraceMs?: number;
  now?: () => number;
}

/** The WebSocket side of the gateway: tokens, joins, replay, live delivery. */
export interface ChannelHub {
  /** Registers a channel; events published before any join are kept and replayed. */
  open(channelId: string, hooks: { onCancel: () => void }): ChannelHandle;
  get(channelId: string): ChannelHandle | undefined;
  /** Issues a single-use ws_token bound to the channel's topic. */
  issueToken(channelId: string): string;
  /** Serves `/socket/websocket` upgrades on this HTTP server. */
  attach(server: Server): void;
  close(): Promise<void>;
  stats(): { sockets: number; channels: number };
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
}
