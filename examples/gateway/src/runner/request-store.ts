/**
 * Where request logs live. {@link RequestLogStore} is the seam: the runner creates (or adopts) live
 * records on it, the dispatcher reports webhook progress to it, the routes read logs from it.
 * {@link RequestStore} is the in-memory implementation (one process); `createRedisRequestLogs` in
 * src/store shares the logs between gateway processes.
 *
 * The memory one drops records `retentionMs` after they finish (and once none of their webhooks
 * is still pending). Sweeping is lazy, on access, at most once a second: no timer to manage, and
 * fake clocks in tests just work.
 */
import type { WebhookAttemptLog } from '@modelriver/node';
import { RequestRecord, type StoredRequestLog } from './request-record.js';

export type { StoredRequestLog } from './request-record.js';

/** A webhook delivery's state, as the dispatcher reports it. */
export type WebhookDeliveryState = 'pending' | 'delivered' | 'dead';

/**
 * The request logs of a gateway, whichever node runs each request.
 *
 * @example
 * ```ts
 * const record = logs.create(channelId, 'chat', 'async', {}, project.id);
 * record.setStatus('processing');
 * const log = await logs.read(channelId); // from any node sharing the store
 * ```
 */
export interface RequestLogStore {
  /** The live record of a request this node runs; every change is saved (Redis: coalesced, in order). */
  create(
    channelId: string,
    workflow: string,
    mode: 'async' | 'sync',
    customerData: Record<string, unknown>,
    projectId: string | null,
  ): RequestRecord;
  /** The live record rebuilt from a saved log, for a request this node takes over from a dead node. */
  adopt(log: StoredRequestLog): RequestRecord;
  /** The saved log (any node's), with its project id, or undefined when unknown/expired. Store failures reject with 503 `store_unavailable`. */
  read(channelId: string): Promise<StoredRequestLog | undefined>;
  /** From whichever node delivered a webhook of this request (may not be the node that runs it). */
  webhookAttempt(channelId: string, deliveryId: string, attempt: WebhookAttemptLog): void;
  /** From whichever node delivered a webhook of this request: its new state. */
  webhookState(channelId: string, deliveryId: string, state: WebhookDeliveryState): void;
  /** Resolves once every save issued so far has reached the store (tests, graceful close). */
  flush(): Promise<void>;
  /** Memory: live and retained records. Redis: the live records this node holds. */
  readonly size: number;
  /** Saves what is left to save; the store is not used afterwards. */
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 1000;

/**
 * The records of live and recently finished requests, in this process's memory.
 *
 * @example
 * ```ts
 * const store = new RequestStore(60 * 60_000, Date.now);
 * store.create(channelId, 'chat', 'async', {});
 * store.get(channelId)?.toLog();
 * ```
 */
export class RequestStore implements RequestLogStore {
  private readonly records = new Map<string, RequestRecord>();
  private lastSweep = 0;

  constructor(
    private readonly retentionMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Creates and stores the record of a new request.
   *
   * @example
   * ```ts
   * const record = store.create(channelId, 'chat', 'async', {});
   * ```
   */
  create(
    channelId: string,
    workflow: string,
    mode: 'async' | 'sync',
    customerData: Record<string, unknown>,
    projectId: string | null = null,
  ): RequestRecord {
    this.sweep();
    const record = new RequestRecord(channelId, workflow, mode, customerData, this.now(), this.now, projectId);
    this.records.set(channelId, record);
    return record;
  }

  /**
   * Keeps a record rebuilt from a stored log.
   *
   * @example
   * ```ts
   * const record = store.adopt(log);
   * ```
   */
  adopt(log: StoredRequestLog): RequestRecord {
    this.sweep();
    const record = RequestRecord.fromLog(log, this.now);
    this.records.set(record.channelId, record);
    return record;
  }

  /** The record of a channel, unless unknown or expired (this process's records only). */
  get(channelId: string): RequestRecord | undefined {
    this.sweep();
    return this.records.get(channelId);
  }

  /**
   * The log of a channel, unless unknown or expired.
   *
   * @example
   * ```ts
   * const log = await store.read(channelId);
   * ```
   */
  read(channelId: string): Promise<StoredRequestLog | undefined> {
    return Promise.resolve(this.get(channelId)?.toStored());
  }

  /**
   * Records one delivery attempt of a webhook of the request.
   *
   * @example
   * ```ts
   * store.webhookAttempt(delivery.channelId, delivery.id, attempt);
   * ```
   */
  webhookAttempt(channelId: string, deliveryId: string, attempt: WebhookAttemptLog): void {
    this.get(channelId)?.webhookAttempt(deliveryId, attempt);
  }

  /**
   * Records a webhook delivery's new state.
   *
   * @example
   * ```ts
   * store.webhookState(delivery.channelId, delivery.id, 'delivered');
   * ```
   */
  webhookState(channelId: string, deliveryId: string, state: WebhookDeliveryState): void {
    this.get(channelId)?.webhookState(deliveryId, state);
  }

  /** Nothing to wait for: memory is always up to date. */
  flush(): Promise<void> {
    return Promise.resolve();
  }

  get size(): number {
    return this.records.size;
  }

  /** Forgets every record. */
  close(): Promise<void> {
    this.records.clear();
    return Promise.resolve();
  }

  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [id, record] of this.records) {
      if (record.finishedAt !== null && now - record.finishedAt >= this.retentionMs && !record.webhooksPending) {
        this.records.delete(id);
      }
    }
  }
}
