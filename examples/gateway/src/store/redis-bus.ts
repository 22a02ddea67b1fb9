/**
 * Messages between gateway nodes over Redis pub/sub: broadcasts every node hears (a channel's new
 * events) and messages to one node (a client's cancel, a backend's callback, a webhook for a CLI
 * connected there), with replies. Pub/sub is Redis's; what is here is only the addressing.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode, GatewayError } from '../errors.js';
import { systemTimers, type TimerHandle, type Timers } from '../timers.js';
import type { RedisClient } from './redis.js';

/** Answers a request addressed to this node; a thrown GatewayError reaches the caller as it is. */
export type BusHandler = (payload: unknown, from: string) => unknown;

interface Envelope {
  /** Kind of message, or 'reply'. */
  k: string;
  from: string;
  /** Request id (requests and replies only). */
  id?: string;
  p?: unknown;
  /** A reply's error. */
  e?: { status: number; code: string; message: string };
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: TimerHandle;
}

/** Options of {@link RedisBus.start}. */
export interface RedisBusOptions {
  /** Publishes (the gateway's ordinary connection). */
  redis: RedisClient;
  /** A connection of its own: a subscribed connection can do nothing else. */
  subscriber: RedisClient;
  prefix: string;
  nodeId: string;
  timers?: Timers;
  onError?: (error: unknown) => void;
}

/**
 * One node's end of the bus.
 *
 * @example
 * ```ts
 * const bus = await RedisBus.start({ redis, subscriber, prefix: 'mr:', nodeId: 'node-a' });
 * bus.handle('cancel', (payload) => runner.cancel(String(payload)));
 * await bus.send('node-b', 'cancel', channelId);
 * const answer = await bus.request('node-b', 'callback', { channelId, body }, 5_000);
 * ```
 */
export class RedisBus {
  private readonly handlers = new Map<string, BusHandler>();
  private readonly topics = new Map<string, (message: string) => void>();
  private readonly pending = new Map<string, Pending>();
  private readonly reconnectHooks: Array<() => void> = [];
  private readonly timers: Timers;
  private readonly ownChannel: string;
  private closed = false;
  private readyOnce = false;

  static async start(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    await options.subscriber.subscribe(bus.ownChannel);
    return bus;
  }

  private constructor(private readonly options: RedisBusOptions) {
    this.timers = options.timers ?? systemTimers;
    this.ownChannel = `${options.prefix}node:${options.nodeId}`;
    options.subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
    options.subscriber.on('ready', () => {
      // ioredis subscribes again by itself; what was published meanwhile is lost, so say so.
      if (!this.readyOnce) {
        this.readyOnce = true;
        return;
      }
      for (const hook of this.reconnectHooks) this.safely(hook);
    });
    this.readyOnce = options.subscriber.status === 'ready';
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Hears every message published to `{prefix}{name}` (a broadcast to all nodes). */
  async listen(name: string, handler: (message: string) => void): Promise<void> {
    const channel = `${this.options.prefix}${name}`;
    this.topics.set(channel, handler);
    await this.options.subscriber.subscribe(channel);
  }

  /** Handles messages of `kind` addressed to this node. */
  handle(kind: string, handler: BusHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Called whenever the subscription is back after a lost link (broadcasts may have been missed). */
  onReconnect(hook: () => void): void {
    this.reconnectHooks.push(hook);
  }

  /** Sends without waiting for an answer; resolves false when no node by that id is listening. */
  async send(nodeId: string, kind: string, payload: unknown): Promise<boolean> {
    const envelope: Envelope = { k: kind, from: this.options.nodeId, p: payload };
    return (await this.options.redis.publish(`${this.options.prefix}node:${nodeId}`, JSON.stringify(envelope))) > 0;
  }

  /**
   * Sends and waits for the handler's answer. Rejects with the handler's GatewayError, or with
   * 503 `store_unavailable` when the node does not answer within `timeoutMs` or is not there.
   */
  async request(nodeId: string, kind: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const id = randomUUID();
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        this.pending.delete(id);
        reject(new GatewayError(503, ErrorCode.storeUnavailable, `gateway node ${nodeId} did not answer in ${timeoutMs} ms`, { 'retry-after': '1' }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
    });
    const envelope: Envelope = { k: kind, from: this.options.nodeId, id, p: payload };
    let heard: number;
    try {
      heard = await this.options.redis.publish(`${this.options.prefix}node:${nodeId}`, JSON.stringify(envelope));
    } catch (error) {
      this.settle(id, undefined, error instanceof Error ? error : new Error(String(error)));
      return answer;
    }
    if (heard === 0) {
      this.settle(id, undefined, new GatewayError(503, ErrorCode.storeUnavailable, `gateway node ${nodeId} is not connected`, { 'retry-after': '1' }));
    }
    return answer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const id of [...this.pending.keys()]) this.settle(id, undefined, new Error('the bus is closed'));
    try {
      await this.options.subscriber.unsubscribe();
    } catch {
      // The link may already be gone; nothing is left to unsubscribe from then.
    }
  }

  private receive(channel: string, message: string): void {
    if (this.closed) return;
    if (channel !== this.ownChannel) {
      const handler = this.topics.get(channel);
      if (handler !== undefined) this.safely(() => handler(message));
      return;
    }
    let envelope: Envelope;
    try {
      envelope = JSON.parse(message) as Envelope;
    } catch (error) {
      this.options.onError?.(error);
      return;
    }
    if (envelope.k === 'reply') {
      if (envelope.id === undefined) return;
      const error = envelope.e === undefined ? undefined : new GatewayError(envelope.e.status, envelope.e.code, envelope.e.message);
      this.settle(envelope.id, envelope.p, error);
      return;
    }
    void this.answer(envelope);
  }

  private async answer(envelope: Envelope): Promise<void> {
    const handler = this.handlers.get(envelope.k);
    let reply: Envelope;
    try {
      if (handler === undefined) throw new GatewayError(501, 'unknown_message', `no handler for ${envelope.k}`);
      reply = { k: 'reply', from: this.options.nodeId, id: envelope.id, p: await handler(envelope.p, envelope.from) };
    } catch (error) {
      const known = error instanceof GatewayError ? error : new GatewayError(500, ErrorCode.internalError, 'the node failed to handle it');
      if (!(error instanceof GatewayError)) this.options.onError?.(error);
      reply = { k: 'reply', from: this.options.nodeId, id: envelope.id, e: { status: known.status, code: known.code, message: known.message } };
    }
    if (envelope.id === undefined) return;
    try {
      await this.options.redis.publish(`${this.options.prefix}node:${envelope.from}`, JSON.stringify(reply));
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private settle(id: string, value: unknown, error?: Error): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    this.timers.clearTimeout(pending.timer);
    if (error !== undefined) pending.reject(error);
    else pending.resolve(value);
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
