import type { WebhookAttemptLog } from '@modelriver/node';
import { attemptEnvironment, makeAttempt } from './attempt.js';
import { BoundedOrder } from './bounded-order.js';
import { countOption, requireSecret } from './options.js';
import { prepareDelivery } from './prepare.js';
import { normaliseRetrySchedule, normaliseTimeout } from './schedule.js';
import type { WebhookDelivery, WebhookDispatcher, WebhookDispatcherOptions } from './types.js';

/** Options of {@link createWebhookDispatcher}: the seam's options plus local tuning. */
export interface CreateWebhookDispatcherOptions extends WebhookDispatcherOptions {
  /**
   * Delivered deliveries remembered for `get` and for ignoring a repeated `deliver` of the same
   * id. Default 10 000; the oldest are forgotten first. Pending ones are always kept.
   */
  maxDelivered?: number;
  /**
   * Dead-lettered deliveries kept (with their payload) for `deadLetters` and `replay`. Default
   * 1 000; past it the one dead longest is forgotten, and can no longer be replayed.
   */
  maxDead?: number;
}

/** Defaults shared with the queue dispatcher, so both forget settled deliveries alike. */
export const DEFAULT_MAX_DELIVERED = 10_000;
export const DEFAULT_MAX_DEAD = 1_000;

interface Entry {
  /** Live object handed to callers; its state and attempts change as the delivery progresses. */
  delivery: WebhookDelivery;
  /** The body serialised once: the exact bytes every attempt signs and sends. */
  payload: string;
  /** The secret every attempt is signed with. */
  secret: string;
  /** Why this delivery can never be sent (bad URL, unserialisable body); it goes straight to dead. */
  invalid?: string;
  /** Retries already used in the current round (a replay starts a new round). */
  retriesUsed: number;
  timer?: ReturnType<typeof setTimeout>;
  inFlight: boolean;
}

/**
 * Creates the gateway's in-memory webhook dispatcher (contract §3), for a gateway on one process.
 * `deliver` serialises the body once, then every attempt signs those bytes afresh (its own
 * `mr-timestamp`, the same delivery id) and POSTs them; a 2xx within `timeoutMs` is success,
 * anything else is retried after `retryScheduleMs[i]`, and after the last retry the delivery is
 * dead-lettered until `replay` (the newest `maxDead` dead ones are kept, like the newest
 * `maxDelivered` delivered ones). Nothing here throws once created: network errors, timeouts and
 * bad input become failed attempts reported through `onAttempt`. The delivery objects returned
 * (by `deliver`, `get`, `deadLetters`, `replay`) are live (read-only for callers): their `state`
 * and `attempts` update as the delivery progresses. A second `deliver` of an id already known
 * returns the existing delivery and sends nothing (use `replay` to resend a dead one). Input that
 * can never be sent (bad URL, body without `id`, body that is not JSON-serialisable) is
 * dead-lettered at once with one failed attempt saying why. Timers are `unref`ed; `close()`
 * cancels them and aborts attempts in flight (logged, not retried) and resolves once they have
 * ended; deliveries handed over after `close()` are kept as pending but not sent.
 *
 * @throws WebhookConfigError when the secret, schedule or timeout cannot work.
 *
 * @example
 * ```ts
 * const webhooks = createWebhookDispatcher({
 *   secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
 *   onAttempt: (d, a) => log.push({ id: d.id, status: a.status, error: a.error }),
 * });
 * webhooks.deliver({ url: 'https://example.com/hooks', channelId, body: event });
 * // later, from an admin endpoint:
 * for (const dead of await webhooks.deadLetters()) await webhooks.replay(dead.id);
 * ```
 */
export function createWebhookDispatcher(options: CreateWebhookDispatcherOptions): WebhookDispatcher {
  const secret = requireSecret(options.secret);
  const schedule = normaliseRetrySchedule(options.retryScheduleMs);
  const timeoutMs = normaliseTimeout(options.timeoutMs);
  // Settled deliveries are remembered in these, oldest first; what falls out is forgotten.
  const settled = {
    delivered: new BoundedOrder(countOption('maxDelivered', options.maxDelivered, DEFAULT_MAX_DELIVERED)),
    dead: new BoundedOrder(countOption('maxDead', options.maxDead, DEFAULT_MAX_DEAD)),
  };
  const closing = new AbortController();
  const environment = attemptEnvironment(options, timeoutMs, closing.signal);

  const entries = new Map<string, Entry>();
  // Attempts under way, so `close()` can wait for them to end.
  const running = new Set<Promise<void>>();
  let closed = false;

  const notify = <A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A): void => {
    try {
      callback?.(...args);
    } catch {
      // A failing log sink must not stop or duplicate deliveries.
    }
  };

  const settle = (entry: Entry, state: 'delivered' | 'dead'): void => {
    entry.delivery.state = state;
    for (const forgotten of settled[state].add(entry.delivery.id)) entries.delete(forgotten);
    notify(options.onSettled, entry.delivery);
  };

  const attempt = async (entry: Entry): Promise<void> => {
    // Always report asynchronously, so `deliver`/`replay` return before any callback runs.
    await Promise.resolve();
    if (closed || entry.inFlight || entry.delivery.state !== 'pending') return;
    entry.inFlight = true;
    entry.timer = undefined;
    const { ok, log } = await makeAttempt(
      { ...entry.delivery, payload: entry.payload, secret: entry.secret, ...(entry.invalid !== undefined ? { invalid: entry.invalid } : {}) },
      entry.delivery.attempts.length + 1,
      environment,
    );
    entry.inFlight = false;
    record(entry, log);

    // After close the attempt is logged, but nothing more is scheduled and nothing settles.
    if (closed) return;
    if (ok) return settle(entry, 'delivered');
    const delay = entry.invalid === undefined ? schedule[entry.retriesUsed] : undefined;
    if (delay === undefined) return settle(entry, 'dead');
    entry.retriesUsed += 1;
    const timer = setTimeout(() => start(entry), delay);
    (timer as { unref?: () => void }).unref?.();
    entry.timer = timer;
  };

  const record = (entry: Entry, log: WebhookAttemptLog): void => {
    entry.delivery.attempts.push(log);
    notify(options.onAttempt, entry.delivery, log);
  };

  const start = (entry: Entry): void => {
    const run = attempt(entry);
    running.add(run);
    void run.finally(() => running.delete(run));
  };

  const deliver: WebhookDispatcher['deliver'] = (input) => {
    const prepared = prepareDelivery(input, secret);
    // The same event handed over twice (a retried runner step, say) is one delivery.
    const existing = entries.get(prepared.delivery.id);
    if (existing) return existing.delivery;
    const entry: Entry = {
      delivery: prepared.delivery,
      payload: prepared.payload,
      secret: prepared.secret,
      ...(prepared.invalid !== undefined ? { invalid: prepared.invalid } : {}),
      retriesUsed: 0,
      inFlight: false,
    };
    entries.set(entry.delivery.id, entry);
    start(entry);
    return entry.delivery;
  };

  return {
    deliver,
    // This process's memory is the dispatcher's keeping: handed over is queued.
    queued: (deliveryId) => Promise.resolve(entries.has(deliveryId)),
    // Oldest dead first; every id in `settled.dead` has an entry (eviction deletes both).
    async deadLetters(projectId) {
      const dead = [...settled.dead].map((id) => (entries.get(id) as Entry).delivery);
      return projectId === undefined ? dead : dead.filter((d) => d.projectId === projectId);
    },
    async replay(deliveryId) {
      const entry = entries.get(deliveryId);
      if (!entry) return undefined;
      // Pending deliveries are already in line and delivered ones are done: nothing to re-queue.
      if (entry.delivery.state === 'dead' && !closed) {
        settled.dead.delete(deliveryId);
        entry.delivery.state = 'pending';
        entry.retriesUsed = 0;
        start(entry);
      }
      return entry.delivery;
    },
    get: async (deliveryId) => entries.get(deliveryId)?.delivery,
    async close() {
      if (!closed) {
        closed = true;
        for (const entry of entries.values()) {
          if (entry.timer !== undefined) clearTimeout(entry.timer);
          entry.timer = undefined;
        }
        closing.abort();
      }
      await Promise.all([...running]);
    },
  };
}
