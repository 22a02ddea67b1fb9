/**
 * Messages between the multi-node benchmark's orchestrator (run.ts) and its child processes (the
 * gateway nodes and the clients), and the latency sample buffer the clients fill.
 */

export { wallNow } from '../channels/shared.js';

/** What a client needs to join one channel: its topic and a single-use connect token. */
export interface ChannelTicket {
  topic: string;
  token: string;
}

/** Where a node keeps its channels: its own memory, or a Redis shared with other nodes. */
export type NodeStore = { kind: 'memory' } | { kind: 'redis'; url: string; prefix: string };

export type NodeRequest =
  /** `open`: channels this node runs and publishes to; `serve`: whether it accepts sockets. */
  | { type: 'setup'; store: NodeStore; open: number; serve: boolean }
  | { type: 'memory' }
  | { type: 'start'; tokensPerSecond: number }
  | { type: 'measure' }
  | { type: 'report' }
  | { type: 'stop' }
  | { type: 'exit' };

export type NodeReply =
  | { type: 'ready'; port: number; tickets: ChannelTicket[] }
  | { type: 'memory'; rss: number; heapUsed: number; external: number; sockets: number }
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

export type ClientRequest =
  | { type: 'connect'; url: string; tickets: ChannelTicket[]; concurrency: number }
  | { type: 'measure'; from: number }
  | { type: 'report'; until: number }
  | { type: 'exit' };

export type ClientReply =
  | { type: 'connected'; joined: number; failed: number; firstError?: string }
  | { type: 'measuring' }
  | { type: 'report'; tokens: number; frames: number; latency: Percentiles; seqErrors: number; closed: number; cpuMs: number };

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Growable Float64 sample buffer (a million samples without a million objects). */
export class Samples {
  private data = new Float64Array(1 << 16);
  private length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  percentiles(): Percentiles {
    const sorted = this.data.slice(0, this.length).sort();
    const at = (q: number): number =>
      sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number);
    return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: at(1) };
  }

  clear(): void {
    this.length = 0;
  }
}

/** user + system CPU used since `since` (from `process.cpuUsage`), in ms. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}
