/**
 * Request logs in Redis, shared by every gateway process.
 *
 * Three keys per request, under one hash tag so they always live on one node:
 * - `req:{id}`: the owner node's record as JSON. Only the node running the request writes it; its
 *   saves are coalesced (at most one in flight per record, the latest state wins, in order).
 * - `req:{id}:hooks`: webhook progress reported by whichever node delivered a webhook: `s:<delivery>`
 *   → state, `a:<delivery>:<attempt>` → the attempt (so a repeated report overwrites, never doubles).
 * - `req:{id}:timeline`: the timeline entries of that progress.
 * A read merges the side keys into the record (side entries win; timeline in `at` order, stable).
 *
 * Expiry: nothing expires while the request runs or while one of its webhooks is pending; once
 * finished and settled, all three keys expire `retentionMs` later. Both writers decide that inside
 * one script, so neither can undo the other's decision.
 */
import type { WebhookAttemptLog } from '@modelriver/node';
import {
  RequestRecord,
  timelineEntry,
  webhookAttemptNote,
  webhookStateNote,
  type StoredRequestLog,
} from '../runner/request-record.js';
import type { RequestLogStore, WebhookDeliveryState } from '../runner/request-store.js';
import { storeUnavailable, type RedisClient } from './redis.js';

/** What {@link createRedisRequestLogs} needs. */
export interface RedisRequestLogsOptions {
  redis: RedisClient;
  /** Every key goes under it, e.g. `mr:`. */
  prefix: string;
  /** How long a log is kept after its request finished (and its webhooks settled). */
  retentionMs: number;
  now: () => number;
  /** A save that failed (it is retried on the record's next change or on flush). */
  onError: (err: unknown) => void;
}

/*
 * KEYS: log, hooks, timeline. ARGV: json, ttl (0: keep forever), ids of webhooks the record holds
 * as pending. A webhook settled by another node (its state in the hooks hash) no longer counts as
 * pending; a webhook replayed there (state pending again) does.
 */
const SAVE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  for i = 3, #ARGV do
    local state = redis.call('HGET', KEYS[2], 's:' .. ARGV[i])
    if not state or state == 'pending' then ttl = 0 break end
  end
end
if ttl > 0 then
  local hooks = redis.call('HGETALL', KEYS[2])
  for i = 1, #hooks, 2 do
    if string.sub(hooks[i], 1, 2) == 's:' and hooks[i + 1] == 'pending' then ttl = 0 break end
  end
end
for i = 1, 3 do
  if ttl > 0 then redis.call('PEXPIRE', KEYS[i], ttl) else redis.call('PERSIST', KEYS[i]) end
end
return 1
`;

/*
 * KEYS: log, hooks, timeline. ARGV: field, value, timeline entry, '1' when this is a state change
 * (skipped when the state is already that one), retention ms, the delivery's state field.
 * Kept forever while the log exists and a webhook is pending (a state of pending, or attempts
 * with no state yet); otherwise all three expire after the retention, so a report about an
 * unknown log (expired, or its owner could not save it yet) leaves nothing behind for good.
 */
const WEBHOOK_SCRIPT = `
if ARGV[4] == '1' and redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[3])
local keep = false
if redis.call('EXISTS', KEYS[1]) == 1 then
  keep = not redis.call('HGET', KEYS[2], ARGV[6])
  local hooks = redis.call('HGETALL', KEYS[2])
  for i = 1, #hooks, 2 do
    if string.sub(hooks[i], 1, 2) == 's:' and hooks[i + 1] == 'pending' then keep = true break end
  end
end
for i = 1, 3 do
  if keep then redis.call('PERSIST', KEYS[i]) else redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
end
return 1
`;

interface RequestLogCommands {
  mrSaveRequestLog(log: string, hooks: string, timeline: string, json: string, ttl: number, ...pending: string[]): Promise<number>;
  mrWebhookProgress(
    log: string,
    hooks: string,
    timeline: string,
    field: string,
    value: string,
    entry: string,
    isState: '0' | '1',
    retentionMs: number,
    stateField: string,
  ): Promise<number>;
}

/** A live record this node owns and saves. */
interface Tracked {
  record: RequestRecord;
  /** A change not saved yet. */
  dirty: boolean;
  /** The save in flight; resolves true when everything up to now reached Redis. */
  saving: Promise<boolean> | null;
  lastError: unknown;
}

type WebhookWrite = [channelId: string, field: string, value: string, entry: string, isState: '0' | '1', stateField: string];

/** Failed webhook writes kept for a retry; past this many the oldest are given up (reported). */
const MAX_FAILED_WEBHOOK_WRITES = 1_000;

/**
 * Creates the Redis request logs.
 *
 * @example
 * ```ts
 * const redis = await connectRedis(config.redisUrl, 'gateway');
 * const logs = createRedisRequestLogs({ redis, prefix: 'mr:', retentionMs: 3_600_000, now: Date.now,
 *   onError: (err) => logger.error('request log not saved', err) });
 * const record = logs.create(channelId, 'chat', 'async', {}, project.id);
 * await logs.read(channelId); // from any gateway sharing this Redis
 * ```
 */
export function createRedisRequestLogs(options: RedisRequestLogsOptions): RequestLogStore {
  const { redis, prefix, retentionMs, now, onError } = options;
  redis.defineCommand('mrSaveRequestLog', { numberOfKeys: 3, lua: SAVE_SCRIPT });
  redis.defineCommand('mrWebhookProgress', { numberOfKeys: 3, lua: WEBHOOK_SCRIPT });
  const commands = redis as unknown as RequestLogCommands;

  const tracked = new Map<string, Tracked>();
  const failed = new Set<Tracked>();
  const webhookWrites = new Set<Promise<void>>();
  let failedWebhookWrites: WebhookWrite[] = [];
  let closed = false;

  const keysOf = (channelId: string): [string, string, string] => {
    const base = `${prefix}req:{${channelId}}`;
    return [base, `${base}:hooks`, `${base}:timeline`];
  };

  async function writeOnce(t: Tracked): Promise<void> {
    t.dirty = false;
    const log = t.record.toStored();
    const pending = log.webhooks.filter((w) => w.state === 'pending').map((w) => w.id);
    const finishedAt = t.record.finishedAt;
    const ttl = finishedAt === null ? 0 : Math.max(1, Math.ceil(retentionMs - (now() - finishedAt)));
    await commands.mrSaveRequestLog(...keysOf(log.channel_id), JSON.stringify(log), ttl, ...pending);
  }

  /** Saves until nothing is dirty; one loop per record at a time, so saves land in order. */
  function save(t: Tracked): Promise<boolean> {
    if (t.saving) return t.saving;
    if (!t.dirty) return Promise.resolve(true);
    const run = saveLoop(t).finally(() => {
      t.saving = null;
      const id = t.record.channelId;
      // A finished record, saved, is Redis's business only: memory stays bounded by live requests.
      if (!t.dirty && t.record.finishedAt !== null && tracked.get(id) === t) tracked.delete(id);
    });
    t.saving = run;
    return run;
  }

  async function saveLoop(t: Tracked): Promise<boolean> {
    try {
      while (t.dirty) await writeOnce(t);
      failed.delete(t);
      return true;
    } catch (err) {
      t.dirty = true;
      t.lastError = err;
      failed.add(t);
      onError(err);
      return false;
    }
  }

  function changed(record: RequestRecord): void {
    if (closed) return;
    let t = tracked.get(record.channelId);
    if (!t || t.record !== record) {
      t = { record, dirty: false, saving: null, lastError: undefined };
      tracked.set(record.channelId, t);
    }
    t.dirty = true;
    void save(t);
    // Redis may be back: retry what failed before (each has at most one save in flight). While
    // the link is down that would only fail again, once per record per change.
    if (redis.status !== 'ready') return;
    for (const other of failed) if (other !== t && !other.saving) void save(other);
  }

  function track(record: RequestRecord): RequestRecord {
    tracked.set(record.channelId, { record, dirty: false, saving: null, lastError: undefined });
    changed(record);
    return record;
  }

  function writeWebhook(write: WebhookWrite): void {
    if (closed) return;
    const retry = failedWebhookWrites;
    failedWebhookWrites = [];
    for (const w of [...retry, write]) {
      const [channelId, field, value, entry, isState, stateField] = w;
      const done = commands
        .mrWebhookProgress(...keysOf(channelId), field, value, entry, isState, retentionMs, stateField)
        .then(
          () => undefined,
          (err: unknown) => {
            failedWebhookWrites.push(w);
            if (failedWebhookWrites.length > MAX_FAILED_WEBHOOK_WRITES) failedWebhookWrites.shift();
            onError(err);
          },
        )
        .finally(() => webhookWrites.delete(done));
      webhookWrites.add(done);
    }
  }

  async function saveAll(): Promise<void> {
    let lastError: unknown;
    let ok = true;
    for (const t of [...tracked.values()]) {
      if (!t.dirty && !t.saving) continue;
      // The save in flight may have failed before this flush; give it one fresh try.
      if (!(await save(t)) && !(await save(t))) {
        ok = false;
        lastError = t.lastError;
      }
    }
    if (failedWebhookWrites.length > 0) {
      const retry = failedWebhookWrites;
      failedWebhookWrites = [];
      for (const w of retry) {
        try {
          await commands.mrWebhookProgress(...keysOf(w[0]), w[1], w[2], w[3], w[4], retentionMs, w[5]);
        } catch (err) {
          failedWebhookWrites.push(w);
          ok = false;
          lastError = err;
        }
      }
    }
    await Promise.all([...webhookWrites]);
    if (!ok) throw storeUnavailable(lastError);
  }

  return {
    create(channelId, workflow, mode, customerData, projectId) {
      return track(new RequestRecord(channelId, workflow, mode, customerData, now(), now, projectId, { onChange: changed }));
    },

    adopt(log) {
      return track(RequestRecord.fromLog(log, now, { onChange: changed }));
    },

    async read(channelId) {
      const [logKey, hooksKey, timelineKey] = keysOf(channelId);
      let replies: [Error | null, unknown][] | null;
      try {
        replies = await redis.multi().get(logKey).hgetall(hooksKey).lrange(timelineKey, 0, -1).exec();
      } catch (err) {
        throw storeUnavailable(err);
      }
      if (!replies) throw storeUnavailable(new Error('the read was aborted'));
      for (const [err] of replies) if (err) throw storeUnavailable(err);
      const [raw, hooks, timeline] = replies.map(([, value]) => value) as [string | null, Record<string, string>, string[]];
      // This node's live record is newer than its last save.
      const local = tracked.get(channelId)?.record.toStored();
      let base: StoredRequestLog | undefined = local;
      if (!base && raw !== null) {
        try {
          base = JSON.parse(raw) as StoredRequestLog;
        } catch (err) {
          throw storeUnavailable(err);
        }
      }
      return base === undefined ? undefined : mergeSide(base, hooks, timeline);
    },

    webhookAttempt(channelId, deliveryId, attempt) {
      const entry = timelineEntry(now(), webhookAttemptNote(deliveryId, attempt));
      writeWebhook([channelId, `a:${deliveryId}:${attempt.attempt}`, JSON.stringify(attempt), JSON.stringify(entry), '0', `s:${deliveryId}`]);
    },

    webhookState(channelId: string, deliveryId: string, state: WebhookDeliveryState) {
      const entry = timelineEntry(now(), webhookStateNote(deliveryId, state));
      writeWebhook([channelId, `s:${deliveryId}`, state, JSON.stringify(entry), '1', `s:${deliveryId}`]);
    },

    flush: saveAll,

    get size() {
      return tracked.size;
    },

    async close() {
      if (closed) return;
      try {
        await saveAll();
      } catch (err) {
        onError(err);
      }
      closed = true;
      tracked.clear();
      failed.clear();
      failedWebhookWrites = [];
    },
  };
}

type TimelineItem = StoredRequestLog['timeline'][number];

/** The owner's log with the webhook progress other nodes reported. */
function mergeSide(base: StoredRequestLog, hooks: Record<string, string>, sideTimeline: string[]): StoredRequestLog {
  const states = new Map<string, string>();
  const attempts = new Map<string, Map<number, WebhookAttemptLog>>();
  for (const [field, value] of Object.entries(hooks)) {
    if (field.startsWith('s:')) {
      states.set(field.slice(2), value);
    } else if (field.startsWith('a:')) {
      const cut = field.lastIndexOf(':');
      const id = field.slice(2, cut);
      const parsed = parseJson<WebhookAttemptLog>(value);
      if (!parsed) continue;
      const byNumber = attempts.get(id) ?? new Map<number, WebhookAttemptLog>();
      byNumber.set(Number(field.slice(cut + 1)), parsed);
      attempts.set(id, byNumber);
    }
  }
  const webhooks = base.webhooks.map((hook) => {
    const merged = new Map<number, WebhookAttemptLog>(hook.attempts.map((a) => [a.attempt, a]));
    for (const [n, attempt] of attempts.get(hook.id) ?? []) merged.set(n, attempt);
    const state = states.get(hook.id);
    return {
      ...hook,
      state: state === 'pending' || state === 'delivered' || state === 'dead' ? state : hook.state,
      attempts: [...merged.entries()].sort(([a], [b]) => a - b).map(([, attempt]) => attempt),
    };
  });

  // A record adopted from a merged log already holds some side entries: count them once.
  const side = sideTimeline.map((text) => parseJson<TimelineItem>(text)).filter((e): e is TimelineItem => e !== undefined);
  const seen = new Map<string, number>();
  for (const entry of side) {
    const key = JSON.stringify(entry);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const own = base.timeline.filter((entry) => {
    const key = JSON.stringify(entry);
    const count = seen.get(key) ?? 0;
    if (count === 0) return true;
    seen.set(key, count - 1);
    return false;
  });
  // Array.prototype.sort is stable: equal stamps keep the owner's entries first, each list in order.
  const timeline = [...own, ...side].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  return { ...base, webhooks, timeline };
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
