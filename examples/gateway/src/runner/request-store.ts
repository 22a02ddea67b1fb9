/**
 * In-memory request records, dropped `retentionMs` after they finish (and once none of their
 * webhooks is still pending). Sweeping is lazy, on access, at most once a second: no timer to
 * manage, and fake clocks in tests just work.
 */
import { RequestRecord } from './request-record.js';

const SWEEP_INTERVAL_MS = 1000;

/**
 * The records of live and recently finished requests.
 *
 * @example
 * ```ts
 * const store = new RequestStore(60 * 60_000, Date.now);
 * store.create(channelId, 'chat', 'async', {});
 * store.get(channelId)?.toLog();
 * ```
 */
export class RequestStore {
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

  /** The record of a channel, unless unknown or expired. */
  get(channelId: string): RequestRecord | undefined {
    this.sweep();
    return this.records.get(channelId);
  }

  get size(): number {
    return this.records.size;
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
