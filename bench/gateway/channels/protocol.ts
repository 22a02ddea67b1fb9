/** Messages between the channel benchmark's orchestrator (channels.ts) and its two child processes (the gateway and the clients). */
import type { ChannelTicket, ReadyReply } from '../common/channel-client.js';
import type { SessionReply, SessionRequest } from '../common/client-session.js';
import type { MemoryReply, MemoryRequest } from '../common/memory.js';
import type { Percentiles } from '../common/samples.js';

export type { ChannelTicket } from '../common/channel-client.js';
export type { Percentiles } from '../common/samples.js';

/** `hub`: the channel hub under test. `bare-ws`: the anchor, a plain `ws` server with no hub. */
export type GatewayMode = 'hub' | 'bare-ws';

/** How first-token latency is provoked: events already logged, or generation starting at join. */
export type FirstTokenCase = 'replay' | 'live';

export type GatewayRequest =
  | { type: 'setup'; mode: GatewayMode; channels: number; prefillTokens: number; firstToken?: FirstTokenCase }
  | MemoryRequest
  | { type: 'start'; tokensPerSecond: number }
  | { type: 'stop' }
  | { type: 'exit' };

export type GatewayReply =
  | ReadyReply
  | MemoryReply
  | { type: 'started' }
  | { type: 'stopped'; published: number; cpuPercent: number; loopDelayP99Ms: number; lagging: number };

export type ClientRequest = SessionRequest | { type: 'first-token'; url: string; tickets: ChannelTicket[]; concurrency: number } | { type: 'exit' };

export type ClientReply = SessionReply | { type: 'first-token'; delays: Percentiles; missing: number };
