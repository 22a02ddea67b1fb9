/**
 * Messages between the benchmark's orchestrator and its two child processes (the gateway and the
 * clients), plus the small statistics helpers both sides use.
 */

/** `hub`: the channel hub under test. `bare-ws`: the anchor, a plain `ws` server with no hub. */
export type GatewayMode = 'hub' | 'bare-ws';

/** How first-token latency is provoked: events already logged, or generation starting at join. */
export type FirstTokenCase = 'replay' | 'live';

export interface ChannelTicket {
  topic: string;
  token: string;
}

export type GatewayRequest =
  | { type: 'setup'; mode: GatewayMode; channels: number; prefillTokens: number; firstToken?: FirstTokenCase }
  | { type: 'memory' }
  | { type: 'start'; tokensPerSecond: number }
  | { type: 'stop' }
  | { type: 'exit' };

export type GatewayReply =
  | { type: 'ready'; port: number; tickets: ChannelTicket[] }
  | { type: 'memory'; rss: number; heapUsed: number; external: number; arrayBuffers: number; sockets: number }
  | { type: 'started' }
  | { type: 'stopped'; published: number; cpuPercent: number; loopDelayP99Ms: number; lagging: number };

export type ClientRequest =
  | { type: 'connect'; url: string; tickets: ChannelTicket[]; concurrency: number }
  | { type: 'measure'; from: number }
  | { type: 'report'; until: number }
  | { type: 'first-token'; url: string; tickets: ChannelTicket[]; concurrency: number }
  | { type: 'exit' };

export type ClientReply =
  | { type: 'connected'; joined: number; failed: number; firstError?: string }
  | { type: 'measuring' }
  | { type: 'report'; tokens: number; frames: number; delays: Percentiles; seqErrors: number; cpuPercent: number; closed: number }
  | { type: 'first-token'; delays: Percentiles; missing: number };

export interface Percentiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

/** `performance.timeOrigin + performance.now()`: comparable across processes on one machine. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Growable Float64 sample buffer (millions of samples without millions of objects). */
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

  get count(): number {
    return this.length;
  }

  percentiles(): Percentiles {
    const sorted = this.data.slice(0, this.length).sort();
    const at = (q: number): number => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: at(1) };
  }

  clear(): void {
    this.length = 0;
  }
}

/** Share of one core used since `since` (from `process.cpuUsage`), in percent. */
export function cpuPercent(since: NodeJS.CpuUsage, sinceWall: number): number {
  const used = process.cpuUsage(since);
  const elapsedUs = (wallNow() - sinceWall) * 1000;
  return elapsedUs <= 0 ? 0 : ((used.user + used.system) / elapsedUs) * 100;
}
