/**
 * Messages between the multi-node benchmark's orchestrator (run.ts) and its child processes (the
 * gateway nodes and the clients).
 */
import type { ReadyReply } from '../common/channel-client.js';
import type { SessionReply, SessionRequest } from '../common/client-session.js';
import type { MemoryReply, MemoryRequest } from '../common/memory.js';

export type { ChannelTicket } from '../common/channel-client.js';
export type { Percentiles } from '../common/samples.js';

/** Where a node keeps its channels: its own memory, or a Redis shared with other nodes. */
export type NodeStore = { kind: 'memory' } | { kind: 'redis'; url: string; prefix: string };

export type NodeRequest =
  /** `open`: channels this node runs and publishes to; `serve`: whether it accepts sockets. */
  | { type: 'setup'; store: NodeStore; open: number; serve: boolean }
  | MemoryRequest
  | { type: 'start'; tokensPerSecond: number }
  | { type: 'measure' }
  | { type: 'report' }
  | { type: 'stop' }
  | { type: 'exit' };

export type NodeReply =
  | ReadyReply
  | MemoryReply
  | { type: 'started' }
  | { type: 'measuring' }
  | {
      type: 'report';
      /** user + system CPU since `measure`, in ms. */
      cpuMs: number;
      wallMs: number;
      /** Tokens this node's publisher emitted since `measure`. */
      published: number;
      /** Commands this node's command connection sent to Redis since `measure`, by name. */
      redisCommands: Record<string, number>;
      loopDelayP99Ms: number;
      /** Errors the hub or the Redis link reported since the start. */
      errors: number;
      firstError?: string;
    }
  | { type: 'stopped' };

export type ClientRequest = SessionRequest | { type: 'exit' };

export type ClientReply = SessionReply;
