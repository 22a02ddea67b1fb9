import { randomUUID } from 'node:crypto';
import { signWebhook, type WebhookAttemptLog, type WebhookEvent, type WebhookType } from '@modelriver/node';
import { isPlainObject } from '../values.js';
import { BoundedOrder } from './bounded-order.js';
import { WebhookConfigError, WebhookConfigErrorCode } from './errors.js';
import { postWebhook, type PostWebhookOutcome } from './post.js';
import { normaliseRetrySchedule, normaliseTimeout } from './schedule.js';
import { CLI_WEBHOOK_TARGET, type WebhookDelivery, type WebhookDispatcher, type WebhookDispatcherOptions } from './types.js';

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

/** The dispatcher this module builds: the seam plus a lookup by id. */
export interface LocalWebhookDispatcher extends WebhookDispatcher {
  get(deliveryId: string): WebhookDelivery | undefined;
}

const USER_AGENT = 'ModelRiver-Gateway-Webhooks/0';
const DEFAULT_MAX_DELIVERED = 10_000;
const DEFAULT_MAX_DEAD = 1_000;

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
 * Creates the gateway's webhook dispatcher (contract §3). `deliver` serialises the body once,
 * then every attempt signs those bytes afresh (its own `mr-timestamp`, the same delivery id) and
 * POSTs them; a 2xx within `timeoutMs` is success, anything else is retried after
 * `retryScheduleMs[i]`, and after the last retry the delivery is dead-lettered until `replay`
 * (the newest `maxDead` dead ones are kept, like the newest `maxDelivered` delivered ones).
 * Nothing here throws once created: network errors, timeouts and bad input become failed
 * attempts reported through `onAttempt`. The returned delivery objects are live (read-only for
 * callers): their `state` and `attempts` update as the delivery progresses. A second `deliver`
 * of an id already known returns the existing delivery and sends nothing (use `replay` to
 * resend a dead one). Input that can never be sent (bad URL, body without `id`, body that is
 * not JSON-serialisable) is dead-lettered at once with one failed attempt saying why. Timers
 * are `unref`ed; `close()` cancels them and aborts attempts in flight (logged, not retried);
 * deliveries handed over after `close()` are kept as pending but not sent.
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
 * for (const dead of webhooks.deadLetters()) webhooks.replay(dead.id);
 * ```
 */
export function createWebhookDispatcher(options: CreateWebhookDispatcherOptions): LocalWebhookDispatcher {
  const { secret } = options;
  if (!isUsableSecret(secret)) {
    throw new WebhookConfigError(
      WebhookConfigErrorCode.invalidSecret,
      'secret must be "whsec_" followed by base64 (e.g. whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)',
    );
  }
  const schedule = normaliseRetrySchedule(options.retryScheduleMs);
  const timeoutMs = normaliseTimeout(options.timeoutMs);
  // Settled deliveries are remembered in these, oldest first; what falls out is forgotten.
  const settled = {
    delivered: new BoundedOrder(countOption('maxDelivered', options.maxDelivered, DEFAULT_MAX_DELIVERED)),
    dead: new BoundedOrder(countOption('maxDead', options.maxDead, DEFAULT_MAX_DEAD)),
  };
  const now = options.now ?? Date.now;

  const entries = new Map<string, Entry>();
  const closing = new AbortController();
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

  const sendOnce = async (entry: Entry, startedAt: number): Promise<PostWebhookOutcome> => {
    if (entry.invalid !== undefined) return { ok: false, error: entry.invalid };
    let headers: Record<string, string>;
    try {
      headers = {
        ...signWebhook({ body: entry.payload, secret: entry.secret, id: entry.delivery.id, timestamp: Math.floor(startedAt / 1000) }),
        'mr-channel-id': entry.delivery.channelId,
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
      };
    } catch (err) {
      return { ok: false, error: `signing failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (entry.delivery.url === CLI_WEBHOOK_TARGET) {
      const projectId = entry.delivery.projectId;
      if (options.cliTransport === undefined || projectId === undefined) return { ok: false, error: 'no cli listener connected' };
      try {
        return await options.cliTransport({
          projectId,
          deliveryId: entry.delivery.id,
          channelId: entry.delivery.channelId,
          payload: entry.payload,
          headers,
          timeoutMs,
          signal: closing.signal,
        });
      } catch (err) {
        return { ok: false, error: `cli transport failed: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    return postWebhook({
      fetch: options.fetch ?? globalThis.fetch,
      url: entry.delivery.url,
      payload: entry.payload,
      headers,
      timeoutMs,
      signal: closing.signal,
    });
  };

  const attempt = async (entry: Entry): Promise<void> => {
    // Always report asynchronously, so `deliver`/`replay` return before any callback runs.
    await Promise.resolve();
    if (closed || entry.inFlight || entry.delivery.state !== 'pending') return;
    entry.inFlight = true;
    entry.timer = undefined;
    const number = entry.delivery.attempts.length + 1;
    const startedAt = now();
    const outcome = await sendOnce(entry, startedAt);
    entry.inFlight = false;

    const log: WebhookAttemptLog = {
      attempt: number,
      at: new Date(startedAt).toISOString(),
      duration_ms: Math.max(0, Math.round(now() - startedAt)),
    };
    if (outcome.status !== undefined) log.status = outcome.status;
    if (!outcome.ok && outcome.error !== undefined) log.error = outcome.error;
    entry.delivery.attempts.push(log);
    notify(options.onAttempt, entry.delivery, log);

    // After close the attempt is logged, but nothing more is scheduled and nothing settles.
    if (closed) return;
    if (outcome.ok) return settle(entry, 'delivered');
    const delay = entry.invalid === undefined ? schedule[entry.retriesUsed] : undefined;
    if (delay === undefined) return settle(entry, 'dead');
    entry.retriesUsed += 1;
    const timer = setTimeout(() => void attempt(entry), delay);
    (timer as { unref?: () => void }).unref?.();
    entry.timer = timer;
  };

  const deliver: WebhookDispatcher['deliver'] = (input) => {
    const body = (input as { body?: unknown } | undefined)?.body;
    const bodyId = isPlainObject(body) ? body.id : undefined;
    const id = typeof bodyId === 'string' && bodyId.length > 0 ? bodyId : `invalid_${randomUUID()}`;

    // The same event handed over twice (a retried runner step, say) is one delivery.
    const existing = entries.get(id);
    if (existing) return existing.delivery;

    const url = (input as { url?: unknown } | undefined)?.url;
    const channelId = (input as { channelId?: unknown } | undefined)?.channelId;
    const bodyType = isPlainObject(body) ? body.type : undefined;
    const projectId = (input as { projectId?: unknown } | undefined)?.projectId;
    const ownSecret = (input as { secret?: unknown } | undefined)?.secret;
    const delivery: WebhookDelivery = {
      id,
      url: typeof url === 'string' ? url : String(url),
      channelId: typeof channelId === 'string' ? channelId : String(channelId),
      ...(typeof projectId === 'string' ? { projectId } : {}),
      type: (typeof bodyType === 'string' ? bodyType : 'task.failed') as WebhookType,
      state: 'pending',
      attempts: [],
    };
    const entry: Entry = { delivery, payload: '', secret, retriesUsed: 0, inFlight: false };
    let problem = checkInput(url, channelId, body, bodyId) ?? serialiseInto(entry, body as WebhookEvent);
    if (ownSecret !== undefined) {
      if (isUsableSecret(ownSecret)) entry.secret = ownSecret;
      else problem ??= 'secret must be "whsec_" followed by base64';
    }
    if (problem !== undefined) entry.invalid = `invalid_delivery: ${problem}`;
    entries.set(id, entry);
    void attempt(entry);
    return delivery;
  };

  return {
    deliver,
    // Oldest dead first; every id in `settled.dead` has an entry (eviction deletes both).
    deadLetters: () => [...settled.dead].map((id) => (entries.get(id) as Entry).delivery),
    replay(deliveryId) {
      const entry = entries.get(deliveryId);
      if (!entry) return undefined;
      // Pending deliveries are already in line and delivered ones are done: nothing to re-queue.
      if (entry.delivery.state === 'dead' && !closed) {
        settled.dead.delete(deliveryId);
        entry.delivery.state = 'pending';
        entry.retriesUsed = 0;
        void attempt(entry);
      }
      return entry.delivery;
    },
    get: (deliveryId) => entries.get(deliveryId)?.delivery,
    close() {
      if (closed) return;
      closed = true;
      for (const entry of entries.values()) {
        if (entry.timer !== undefined) clearTimeout(entry.timer);
        entry.timer = undefined;
      }
      closing.abort();
    },
  };
}

function countOption(name: string, value: number | undefined, fallback: number): number {
  const count = value ?? fallback;
  if (!Number.isInteger(count) || count < 0) {
    throw new WebhookConfigError(WebhookConfigErrorCode.invalidOption, `${name} must be a non-negative integer, got ${String(count)}`);
  }
  return count;
}

/** `signWebhook` is the authority on what it accepts; ask it once up front instead of per attempt. */
function isUsableSecret(secret: unknown): secret is string {
  if (typeof secret !== 'string' || secret.length === 0) return false;
  try {
    signWebhook({ body: '{}', secret, id: 'probe', timestamp: 0 });
    return true;
  } catch {
    return false;
  }
}

/** Returns why the input can never be delivered, or undefined when it can. */
function checkInput(url: unknown, channelId: unknown, body: unknown, bodyId: unknown): string | undefined {
  if (!isPlainObject(body)) return 'body must be a webhook event object';
  if (typeof bodyId !== 'string' || bodyId.length === 0) return 'body.id must be a non-empty string';
  if (typeof channelId !== 'string' || channelId.length === 0) return 'channelId must be a non-empty string';
  if (typeof url !== 'string') return 'url must be a string';
  if (url === CLI_WEBHOOK_TARGET) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `url is not a valid URL: ${url}`;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return `url must be http(s), got ${parsed.protocol}`;
  return undefined;
}

/** Serialises once; these bytes are what every attempt signs and sends. */
function serialiseInto(entry: Entry, body: WebhookEvent): string | undefined {
  try {
    const payload = JSON.stringify(body);
    if (typeof payload !== 'string') return 'body is not JSON-serialisable';
    entry.payload = payload;
    return undefined;
  } catch (err) {
    return `body is not JSON-serialisable (${err instanceof Error ? err.message : String(err)})`;
  }
}
