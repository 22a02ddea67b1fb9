/**
 * What the benchmarks' client processes have in common: join every channel, then measure the
 * `tokens` frames over a window the orchestrator opens and closes.
 */
import type { WebSocket } from 'ws';
import { joinChannels, type ChannelTicket } from './channel-client.js';
import { cpuMsSince, cpuPercent, wallNow } from './clock.js';
import type { Percentiles } from './samples.js';
import { TokenMeter } from './token-meter.js';

/** The orchestrator's requests a {@link ClientSession} answers. */
export type SessionRequest =
  | { type: 'connect'; url: string; tickets: ChannelTicket[]; concurrency: number }
  | { type: 'measure'; from: number }
  | { type: 'report'; until: number };

/** What the client processes measured over the window. */
export interface ClientMeasurement {
  /** Stamped tokens received that were due inside the window. */
  tokens: number;
  frames: number;
  /** Receipt minus due time of those tokens, ms. */
  latency: Percentiles;
  seqErrors: number;
  /** Sockets that closed, since the start. */
  closed: number;
  /** user + system CPU of the client process over the window, ms and % of one core. */
  cpuMs: number;
  cpuPercent: number;
}

export type SessionReply =
  | { type: 'connected'; joined: number; failed: number; firstError?: string }
  | { type: 'measuring' }
  | ({ type: 'report' } & ClientMeasurement);

/** How long a report waits for tokens due before `until` that are still on their way. */
const IN_FLIGHT_MS = 1_000;

/**
 * One client process's sockets and counters.
 *
 * @example
 * ```ts
 * const session = new ClientSession();
 * serveParent<SessionRequest, SessionReply>((request) => session.answer(request));
 * ```
 */
export class ClientSession {
  private readonly sockets: WebSocket[] = [];
  private readonly meter = new TokenMeter();
  private closed = 0;
  private cpuSince = process.cpuUsage();
  private wallSince = wallNow();

  /** Counts a socket's close: for sockets this session did not open itself. */
  readonly countClose = (): void => {
    this.closed++;
  };

  answer(request: SessionRequest): Promise<SessionReply> | SessionReply {
    switch (request.type) {
      case 'connect':
        return this.connect(request.url, request.tickets, request.concurrency);
      case 'measure':
        this.meter.measure(request.from);
        this.cpuSince = process.cpuUsage();
        this.wallSince = wallNow();
        return { type: 'measuring' };
      case 'report':
        return this.report(request.until);
    }
  }

  /** Drops every socket at once (the process is about to exit). */
  terminate(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  private async connect(url: string, tickets: ChannelTicket[], concurrency: number): Promise<SessionReply> {
    const { sockets, ...counts } = await joinChannels(url, tickets, concurrency, () => this.meter.socketListener(), this.countClose);
    this.sockets.push(...sockets);
    return { type: 'connected', ...counts };
  }

  private async report(until: number): Promise<SessionReply> {
    this.meter.endAt(until);
    const cpu = { cpuMs: cpuMsSince(this.cpuSince), cpuPercent: cpuPercent(this.cpuSince, this.wallSince) };
    await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_MS));
    const { meter } = this;
    return { type: 'report', tokens: meter.tokens, frames: meter.frames, latency: meter.latency(), seqErrors: meter.seqErrors, closed: this.closed, ...cpu };
  }
}
