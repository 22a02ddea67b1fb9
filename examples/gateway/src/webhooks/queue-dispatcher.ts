/**
 * The webhook dispatcher for gateways sharing one Redis: deliveries are BullMQ jobs, so any node
 * may attempt them, a restart loses none, and every node reads the same attempts and dead letters.
 */
import type { WebhookAttemptLog, WebhookType } from '@modelriver/node';
import { DelayedError, Queue, UnrecoverableError, Worker, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { storeUnavailable } from '../store/redis.js';
import { attemptEnvironment, makeAttempt } from './attempt.js';
import { DEFAULT_MAX_DEAD, DEFAULT_MAX_DELIVERED } from './dispatcher.js';
import { WebhookConfigError, WebhookConfigErrorCode } from './errors.js';
import { countOption, requireSecret } from './options.js';
import { prepareDelivery } from './prepare.js';
import { normaliseRetrySchedule, normaliseTimeout } from './schedule.js';
import type { WebhookDelivery, WebhookDispatcher, WebhookDispatcherOptions } from './types.js';

/** Options of {@link createQueueWebhookDispatcher}. */
export interface CreateQueueWebhookDispatcherOptions extends WebhookDispatcherOptions {
  /**
   * The Redis to queue in: a `redis://` URL or ioredis connection options. The dispatcher opens
   * its own connections (BullMQ's worker needs `maxRetriesPerRequest: null`, unlike the gateway's
   * fail-fast stores) and closes them in `close()`.
   */
  redis: string | RedisOptions;
  /** Every key goes under it. Default `mr:`. Dispatchers on one prefix share their deliveries. */
  prefix?: string;
  /** Attempts this node makes at the same time. Default 8. */
  concurrency?: number;
  /** Delivered jobs kept in Redis for `get` and for ignoring a repeated `deliver`. Default 10 000. */
  maxDelivered?: number;
  /** Dead-lettered jobs kept for `deadLetters` and `replay`. Default 1 000. */
  maxDead?: number;
  /**
   * Deliveries handed over but not yet in Redis (it is unreachable) that this process holds.
   * Default 10 000; past it a delivery is dropped and reported through `onError`.
   */
  maxBuffered?: number;
  /**
   * How long `close()` waits for attempts in flight to give their jobs back (they need Redis to
   * do so) before it drops the connections. Default 5 000 ms.
   */
  closeTimeoutMs?: number;
  /** How long `ready()` waits for the queue and worker to reach Redis before it rejects. Default 10 000 ms. */
  readyTimeoutMs?: number;
  /** Told of every Redis or queue failure (enqueue retried, connection lost, delivery dropped…). */
  onError?: (err: unknown) => void;
}

/** The dispatcher this module builds: the seam plus a way to wait for Redis at startup. */
export interface QueueWebhookDispatcher extends WebhookDispatcher {
  /**
   * Resolves once the queue and worker are connected to Redis; rejects with a 503
   * `store_unavailable` GatewayError when that takes longer than `readyTimeoutMs`.
   */
  ready(): Promise<void>;
}

/** What a job holds: everything an attempt on any node needs, and the attempts made so far. */
interface WebhookJobData {
  id: string;
  url: string;
  channelId: string;
  projectId?: string;
  type: WebhookType;
  /** The body serialised once: the exact bytes every attempt signs. */
  payload: string;
  /**
   * The secret attempts are signed with (a project may have its own). It sits in Redis next to
   * the payload: acceptable for this reference gateway, whose Redis is as trusted as its config;
   * a production deployment would store a key reference instead.
   */
  secret: string;
  invalid?: string;
  /** The retry delays this job was queued with, read by the backoff strategy on whichever node fails it. */
  schedule: number[];
  attempts: WebhookAttemptLog[];
}

const QUEUE_NAME = 'webhooks';
const JOB_NAME = 'deliver';
const BACKOFF_TYPE = 'webhook-schedule';
const DEFAULT_CONCURRENCY = 8;
const DEFAULT_MAX_BUFFERED = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const DEFAULT_READY_TIMEOUT_MS = 10_000;
/** BullMQ's default lock; an attempt must fit in it, or the job would look stalled mid-attempt. */
const MIN_LOCK_MS = 30_000;
/** Enqueue failures while Redis answers: after this many the delivery is dropped and reported. */
const MAX_REJECTED_ENQUEUES = 3;

/**
 * Creates a webhook dispatcher on a BullMQ queue in Redis (contract §3, several gateway nodes).
 * Each instance runs one Queue and one Worker. A delivery is a job whose id is derived from the
 * webhook id, so handing the same webhook to several nodes enqueues it once. Every attempt signs
 * the stored bytes afresh and POSTs them exactly like {@link createWebhookDispatcher}; a failure
 * is retried after `retryScheduleMs[i]` and, after the last one, the job stays failed: that is
 * the dead letter, listed by `deadLetters` and put back in line by `replay` on any node. Attempts
 * are written to the job, so `get` on any node shows them all; `onAttempt` and `onSettled` run
 * on the node that made the attempt.
 *
 * `deliver` never waits on Redis: the job is added in the background, retried with backoff
 * (each failure reported through `onError`) until Redis takes it. Those not added yet when
 * `close()` ends are reported as lost through `onError`. The reads reject with a 503
 * `store_unavailable` GatewayError while Redis is unreachable. `close()` aborts attempts in
 * flight and hands their jobs back without using up a retry; pending jobs stay in Redis for the
 * next dispatcher on the same prefix.
 *
 * @throws WebhookConfigError when the secret, schedule, timeout or a count cannot work.
 *
 * @example
 * ```ts
 * const webhooks = createQueueWebhookDispatcher({
 *   redis: 'redis://127.0.0.1:6379',
 *   prefix: 'mr:',
 *   secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
 *   onError: (err) => logger.error('webhook queue', err),
 * });
 * await webhooks.ready();
 * webhooks.deliver({ url: 'https://example.com/hooks', channelId, body: event });
 * for (const dead of await webhooks.deadLetters(projectId)) await webhooks.replay(dead.id);
 * await webhooks.close();
 * ```
 */
export function createQueueWebhookDispatcher(options: CreateQueueWebhookDispatcherOptions): QueueWebhookDispatcher {
  const secret = requireSecret(options.secret);
  const schedule = [...normaliseRetrySchedule(options.retryScheduleMs)];
  const timeoutMs = normaliseTimeout(options.timeoutMs);
  const maxDelivered = countOption('maxDelivered', options.maxDelivered, DEFAULT_MAX_DELIVERED);
  const maxDead = countOption('maxDead', options.maxDead, DEFAULT_MAX_DEAD);
  const maxBuffered = countOption('maxBuffered', options.maxBuffered, DEFAULT_MAX_BUFFERED);
  const concurrency = countOption('concurrency', options.concurrency, DEFAULT_CONCURRENCY);
  const closeTimeoutMs = countOption('closeTimeoutMs', options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS);
  const readyTimeoutMs = countOption('readyTimeoutMs', options.readyTimeoutMs, DEFAULT_READY_TIMEOUT_MS);
  if (concurrency < 1) throw new WebhookConfigError(WebhookConfigErrorCode.invalidOption, 'concurrency must be at least 1');
  const prefix = options.prefix ?? 'mr:';
  if (typeof prefix !== 'string') throw new WebhookConfigError(WebhookConfigErrorCode.invalidOption, 'prefix must be a string');
  // BullMQ puts ':' between its prefix and the queue name.
  const bullPrefix = prefix.endsWith(':') ? prefix.slice(0, -1) : prefix;

  const closing = new AbortController();
  const environment = attemptEnvironment(options, timeoutMs, closing.signal);

  const notify = <A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A): void => {
    try {
      callback?.(...args);
    } catch {
      // A failing log sink must not stop or duplicate deliveries.
    }
  };
  const report = (err: unknown): void => notify(options.onError, err);

  const base = connectionOptions(options.redis);
  // Producer side: fail fast while Redis is away, so `deliver`'s background enqueue can retry
  // and the reads can answer 503 instead of hanging. Owned here (BullMQ leaves a connection it
  // was given open), so its status can be read at once and it can be dropped without waiting.
  const { url, ...rest } = base;
  const producerOptions: RedisOptions = { ...rest, enableOfflineQueue: false, maxRetriesPerRequest: 1 };
  const producer = url === undefined ? new Redis(producerOptions) : new Redis(url, producerOptions);
  // Failures surface on the commands and through the queue's 'error' event; never crash on one.
  producer.on('error', () => {});
  const queue = new Queue<WebhookJobData>(QUEUE_NAME, { prefix: bullPrefix, connection: producer });
  queue.on('error', report);

  const processAttempt = async (job: Job<WebhookJobData>, token: string | undefined): Promise<void> => {
    if (closing.signal.aborted) return giveBack(job, token);
    const data = job.data;
    const { ok, log } = await makeAttempt(data, data.attempts.length + 1, environment);
    const updated: WebhookJobData = { ...data, attempts: [...data.attempts, log] };
    await job.updateData(updated);
    notify(options.onAttempt, toDelivery(updated, 'pending'), log);
    if (ok) return;
    // Aborted by close(): not the receiver's fault, so it must not use up a retry.
    if (closing.signal.aborted) return giveBack(job, token);
    const why = log.error ?? `HTTP ${String(log.status)}`;
    if (data.invalid !== undefined) throw new UnrecoverableError(why);
    throw new Error(why);
  };

  const worker = new Worker<WebhookJobData>(QUEUE_NAME, processAttempt, {
    prefix: bullPrefix,
    connection: { ...base, maxRetriesPerRequest: null } as ConnectionOptions,
    concurrency,
    lockDuration: Math.max(MIN_LOCK_MS, timeoutMs + MIN_LOCK_MS),
    settings: {
      // attemptsMade counts the failures so far (1 after the first), so it indexes the schedule.
      backoffStrategy: (attemptsMade: number, _type?: string, _err?: Error, job?: { data: unknown }) => {
        const delay = (job?.data as WebhookJobData | undefined)?.schedule?.[attemptsMade - 1];
        return typeof delay === 'number' ? delay : -1;
      },
    },
  });
  worker.on('error', report);
  worker.on('completed', (job) => notify(options.onSettled, toDelivery(job.data, 'delivered')));
  worker.on('failed', (job) => {
    // A failure that will be retried leaves `finishedOn` unset; the last one sets it.
    if (job?.finishedOn) notify(options.onSettled, toDelivery(job.data, 'dead'));
  });

  const jobOptions = (id: string): JobsOptions => ({
    jobId: jobIdFor(id),
    attempts: schedule.length + 1,
    backoff: { type: BACKOFF_TYPE },
    removeOnComplete: { count: maxDelivered },
    removeOnFail: { count: maxDead },
  });

  // Handed over, not in Redis yet. Keyed by webhook id, so a repeated `deliver` is one entry.
  const unqueued = new Map<string, { data: WebhookJobData; rejected: number }>();
  // Who waits for an unqueued one to reach Redis (`queued`), and the ids lately dropped instead.
  const waiters = new Map<string, Array<(queued: boolean) => void>>();
  const dropped = new Set<string>();
  const settle = (id: string, queued: boolean): void => {
    if (queued) dropped.delete(id);
    else {
      dropped.add(id);
      // Bounded like the buffer: the oldest drop is forgotten first.
      if (dropped.size > maxBuffered) dropped.delete(dropped.values().next().value as string);
    }
    const waiting = waiters.get(id);
    waiters.delete(id);
    for (const resolve of waiting ?? []) resolve(queued);
  };
  let flushing: Promise<void> | undefined;
  let wakeFlush: (() => void) | undefined;
  let closed = false;
  // Set by the first close(), returned by every later one.
  let closeDone: Promise<void> = Promise.resolve();

  const flushOnce = async (): Promise<boolean> => {
    const batch = [...unqueued.entries()];
    const results = await Promise.allSettled(batch.map(([id, entry]) => queue.add(JOB_NAME, entry.data, jobOptions(id))));
    let allIn = true;
    const redisAnswers = producer.status === 'ready';
    results.forEach((result, i) => {
      const [id, entry] = batch[i] as [string, { data: WebhookJobData; rejected: number }];
      if (result.status === 'fulfilled') {
        unqueued.delete(id);
        settle(id, true);
        return;
      }
      allIn = false;
      report(result.reason);
      // Redis is up yet refused this one job: retrying it forever would only repeat the error.
      if (redisAnswers && ++entry.rejected >= MAX_REJECTED_ENQUEUES) {
        unqueued.delete(id);
        settle(id, false);
        report(new Error(`webhook ${id} dropped: Redis refused it ${MAX_REJECTED_ENQUEUES} times`));
      }
    });
    return allIn;
  };

  const flush = async (): Promise<void> => {
    let failures = 0;
    while (unqueued.size > 0 && !closed) {
      if (await flushOnce()) {
        failures = 0;
        continue;
      }
      failures += 1;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(25 * 2 ** failures, 1_000));
        (timer as { unref?: () => void }).unref?.();
        wakeFlush = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeFlush = undefined;
    }
  };

  const startFlush = (): void => {
    flushing ??= flush().finally(() => {
      flushing = undefined;
      if (unqueued.size > 0 && !closed) startFlush();
    });
  };

  const deliver: WebhookDispatcher['deliver'] = (input) => {
    const prepared = prepareDelivery(input, secret);
    const { delivery } = prepared;
    if (closed) {
      settle(delivery.id, false);
      report(new Error(`webhook ${delivery.id} not queued: the dispatcher is closed`));
      return delivery;
    }
    if (!unqueued.has(delivery.id)) {
      if (unqueued.size >= maxBuffered) {
        settle(delivery.id, false);
        report(new Error(`webhook ${delivery.id} dropped: ${maxBuffered} deliveries already wait for Redis`));
        return delivery;
      }
      dropped.delete(delivery.id);
      const data: WebhookJobData = {
        id: delivery.id,
        url: delivery.url,
        channelId: delivery.channelId,
        ...(delivery.projectId !== undefined ? { projectId: delivery.projectId } : {}),
        type: delivery.type,
        payload: prepared.payload,
        secret: prepared.secret,
        ...(prepared.invalid !== undefined ? { invalid: prepared.invalid } : {}),
        schedule,
        attempts: [],
      };
      unqueued.set(delivery.id, { data, rejected: 0 });
      startFlush();
    }
    return delivery;
  };

  const read = async <T>(what: () => Promise<T>): Promise<T> => {
    if (closed) throw storeUnavailable(new Error('the webhook dispatcher is closed'));
    try {
      return await what();
    } catch (err) {
      throw storeUnavailable(err);
    }
  };

  const get = async (deliveryId: string): Promise<WebhookDelivery | undefined> => {
    const waiting = unqueued.get(deliveryId);
    try {
      return await read(async () => {
        const job = await queue.getJob(jobIdFor(deliveryId));
        if (!job) return waiting ? toDelivery(waiting.data, 'pending') : undefined;
        const state = stateOf(await job.getState());
        return state === undefined ? undefined : toDelivery(job.data, state);
      });
    } catch (err) {
      // Not in Redis yet: this process knows it is pending.
      if (waiting) return toDelivery(waiting.data, 'pending');
      throw err;
    }
  };

  return {
    deliver,
    queued: (deliveryId) =>
      unqueued.has(deliveryId)
        ? new Promise((resolve) => waiters.set(deliveryId, [...(waiters.get(deliveryId) ?? []), resolve]))
        : Promise.resolve(!dropped.has(deliveryId)),
    get,
    ready: () =>
      read(async () => {
        // BullMQ waits for Redis as long as it takes; a gateway starting up must not.
        const connected = Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]).then(() => true);
        if (!(await withDeadline(connected, readyTimeoutMs))) {
          throw new Error(`the webhook queue did not reach Redis within ${readyTimeoutMs} ms`);
        }
      }),
    deadLetters: (projectId) =>
      read(async () => {
        // Bounded by `maxDead` (removeOnFail), so reading them all is bounded too.
        const failed = (await queue.getFailed(0, -1)).filter((job): job is Job<WebhookJobData> => Boolean(job));
        return failed
          .filter((job) => projectId === undefined || job.data.projectId === projectId)
          .sort((a, b) => (a.finishedOn ?? 0) - (b.finishedOn ?? 0))
          .map((job) => toDelivery(job.data, 'dead'));
      }),
    replay: (deliveryId) =>
      read(async () => {
        const job = await queue.getJob(jobIdFor(deliveryId));
        if (!job) return get(deliveryId);
        if ((await job.getState()) !== 'failed') return get(deliveryId);
        try {
          // A fresh schedule: the failures counted against the retries start again from zero.
          await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        } catch {
          // Another node replayed it first (or Redis failed: `get` then rejects with 503).
          return get(deliveryId);
        }
        return toDelivery(job.data, 'pending');
      }),
    async close() {
      if (closed) return closeDone;
      closed = true;
      closing.abort();
      wakeFlush?.();
      closeDone = (async () => {
        // A graceful worker close hands aborted jobs back, which needs Redis; while Redis is
        // away it would wait for its return, so the worker is closed at once instead (a job it
        // held is then recovered by another node's stalled-job check).
        const redisUp = producer.status === 'ready';
        const graceful = (async () => {
          await flushing;
          await worker.close(!redisUp);
          // A last chance for deliveries that never reached Redis, now that nothing else runs.
          if (unqueued.size > 0 && producer.status === 'ready') await flushOnce();
          await queue.close();
        })();
        const inTime = await withDeadline(graceful.then(() => true, (err: unknown) => (report(err), true)), closeTimeoutMs);
        if (!inTime) {
          // Redis went away during the close: stop waiting for it.
          report(new Error(`webhook queue did not close within ${closeTimeoutMs} ms (Redis unreachable?): connections dropped`));
          worker.disconnect().catch(() => undefined);
        }
        producer.disconnect();
        for (const id of unqueued.keys()) {
          settle(id, false);
          report(new Error(`webhook ${id} lost: never reached Redis before close`));
        }
        unqueued.clear();
      })();
      return closeDone;
    },
  };
}

/** Moves an aborted job back to the queue without counting an attempt, so another node takes it. */
async function giveBack(job: Job<WebhookJobData>, token: string | undefined): Promise<never> {
  await job.moveToDelayed(Date.now(), token);
  throw new DelayedError();
}

/**
 * The BullMQ job id of a webhook id. BullMQ refuses ids that parse as integers or contain ':';
 * the prefix and the escaping of ':' (and of '%', the escape character) keep the mapping one to one.
 */
function jobIdFor(webhookId: string): string {
  return `wh_${webhookId.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'))}`;
}

function toDelivery(data: WebhookJobData, state: WebhookDelivery['state']): WebhookDelivery {
  return {
    id: data.id,
    url: data.url,
    channelId: data.channelId,
    ...(data.projectId !== undefined ? { projectId: data.projectId } : {}),
    type: data.type,
    state,
    attempts: data.attempts.map((a) => ({ ...a })),
  };
}

function stateOf(jobState: string): WebhookDelivery['state'] | undefined {
  if (jobState === 'completed') return 'delivered';
  if (jobState === 'failed') return 'dead';
  // Removed between the lookup and the state read.
  if (jobState === 'unknown') return undefined;
  return 'pending';
}

function connectionOptions(redis: string | RedisOptions): RedisOptions & { url?: string } {
  // Reconnect forever, backing off to 1 s: Redis coming back is the normal end of an outage.
  const retryStrategy = (times: number): number => Math.min(50 * times, 1_000);
  if (typeof redis === 'string') return { url: redis, retryStrategy, connectionName: 'webhooks' } as RedisOptions & { url: string };
  return { retryStrategy, connectionName: 'webhooks', ...redis };
}

async function withDeadline(work: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    (timer as { unref?: () => void }).unref?.();
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
