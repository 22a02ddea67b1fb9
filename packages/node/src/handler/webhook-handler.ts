/**
 * The framework-neutral webhook endpoint: verify, drop duplicates, dispatch by type, and for
 * event-driven requests post the backend's result back to the gateway before answering 200.
 * The Express, Fastify and Fetch adapters only move bytes in and out of it.
 */
import type { ModelRiver } from '../client/model-river.js';
import { ModelRiverError } from '@modelriver/client/errors';
import { InvalidRequestError, NotFoundError } from '../client/errors.js';
import type { WebhookEvent } from '../wire.js';
import { rawBody, type WebhookBody } from '../webhooks/body.js';
import { WebhookVerificationError } from '../webhooks/errors.js';
import type { WebhookHeaders } from '../webhooks/headers.js';
import { loadNodeCrypto } from '../webhooks/node-crypto.js';
import { verifySignatureWithKeys } from '../webhooks/verify.js';
import { verifySignatureWithKeysAsync } from '../webhooks/verify-async.js';
import {
  secretKeys,
  type SecretKeys,
  type VerifiedSignature,
  type VerifiedWebhook,
  type WebhookSecretOptions,
} from '../webhooks/verify-core.js';
import { createMemoryIdempotencyStore, type WebhookIdempotencyStore } from './idempotency-store.js';
import { isTransientError } from './transient-error.js';
import { readDeliveredEvent, type UnknownWebhookEvent } from './unknown-event.js';

export type CompletedWebhook = Extract<WebhookEvent, { type: 'task.completed' }>;
export type FailedWebhook = Extract<WebhookEvent, { type: 'task.failed' }>;
export type AiGeneratedWebhook = Extract<WebhookEvent, { type: 'task.ai_generated' }>;

/** What `onAiGenerated` returns: the enriched result posted to the gateway's callback. */
export interface AiGeneratedResult {
  data: unknown;
  task_id?: string;
  metadata?: Record<string, unknown>;
}

/** Passed to every event callback. */
export interface WebhookContext {
  /** The verification result: scheme, matched secret index, signed timestamp. */
  verified: VerifiedWebhook;
}

/** Passed to `onUnknownEvent`: the signature check of a delivery whose event type is not known. */
export interface UnknownWebhookContext {
  /** Scheme, matched secret index, signed timestamp, and the delivery id (the body's `id`). */
  verified: VerifiedSignature & { webhookId: string };
}

/** Options of {@link createWebhookHandler}. */
export type WebhookHandlerOptions = WebhookSecretOptions & {
  /** Signature timestamp tolerance, both ways. Default 300. */
  toleranceSec?: number;
  /** Clock in epoch ms. Default `Date.now`. */
  now?: () => number;
  /** `sync` (node:crypto) or `async` (WebCrypto). Default: `sync` where node:crypto exists. */
  verify?: 'sync' | 'async';
  /** Every new verified event, before the typed callback. */
  onEvent?: (event: WebhookEvent, context: WebhookContext) => unknown;
  onCompleted?: (event: CompletedWebhook, context: WebhookContext) => unknown;
  onFailed?: (event: FailedWebhook, context: WebhookContext) => unknown;
  /**
   * Event-driven requests: return the enriched result, which is posted to the callback before
   * the webhook is answered; return `undefined` to call back later yourself (with
   * `ModelRiver#callback`). A throw goes to `onError`, never to the end user: a transient one
   * (see `isTransientError`) answers 500 so the gateway redelivers and this runs again; any
   * other posts the generic `{error: 'backend_error', message: 'The backend could not complete
   * this request.'}` so the request ends now. Without this callback, a `task.ai_generated`
   * delivery is refused with 501 `ai_generated_unhandled` (nothing else would ever complete it).
   */
  onAiGenerated?: (event: AiGeneratedWebhook, context: WebhookContext) => AiGeneratedResult | undefined | Promise<AiGeneratedResult | undefined>;
  /**
   * A verified delivery whose `type` this version does not know (a newer gateway's event). It
   * is acknowledged with 200 (deduplicated like the others) whether or not this is given; a throw
   * answers 500 so the gateway redelivers. `onEvent` is not called for it.
   */
  onUnknownEvent?: (event: UnknownWebhookEvent, context: UnknownWebhookContext) => unknown;
  /** Posts the callbacks; required with `onAiGenerated`. */
  client?: ModelRiver;
  /** Handled delivery ids. Default: in memory, 24 h, 10 000 ids. `false` turns deduplication off. */
  store?: WebhookIdempotencyStore | false;
  /**
   * Told of every failure the endpoint answers 4xx/5xx for, of `onAiGenerated` throws, and of
   * callbacks the gateway refused. For logging. `event` is unset before verification and for
   * events of an unknown type.
   */
  onError?: (error: unknown, event?: WebhookEvent) => void;
};

/** What the endpoint answers: an HTTP status and a JSON body. */
export interface WebhookHandlerResult {
  status: number;
  body: { received: true; duplicate?: true } | { error: { code: string; message: string; hint?: string } };
  /** The event, once verified. */
  event?: WebhookEvent;
}

/** A raw delivery as any framework can provide it. */
export interface RawWebhookRequest {
  body: WebhookBody;
  headers: WebhookHeaders;
}

/** The endpoint logic; never throws, every outcome is a {@link WebhookHandlerResult}. */
export interface WebhookHandler {
  /** Verifies a raw delivery, then {@link WebhookHandler.dispatch}es it (or hands an unknown type to `onUnknownEvent`). */
  handle(request: RawWebhookRequest): Promise<WebhookHandlerResult>;
  /** Handles an already verified delivery: deduplicates, runs the callbacks, posts the AI callback. */
  dispatch(verified: VerifiedWebhook): Promise<WebhookHandlerResult>;
}

// Kept while posting a callback fails, so the gateway's redelivery posts the same result
// instead of running `onAiGenerated` again.
const MAX_PENDING_CALLBACKS = 1_000;

// What the end user's request ends with when `onAiGenerated` fails for good: the exception's
// own text (a stack, a host name, a query) goes to `onError` only.
const BACKEND_ERROR = { error: 'backend_error', message: 'The backend could not complete this request.' } as const;

const RETRY_LATER: WebhookHandlerResult['body'] = {
  error: { code: 'handler_error', message: 'The webhook handler failed; the delivery will be retried.' },
};

/**
 * Creates the framework-neutral webhook endpoint used by all adapters: verifies the delivery,
 * acknowledges duplicates (same delivery id within the store's window) without re-running
 * anything, dispatches on `type`, and for `task.ai_generated` posts what `onAiGenerated`
 * returns to the gateway's callback (with retries and one idempotency key derived from the
 * delivery id) before answering 200. A failing callback answers 500 so the gateway redelivers.
 * A verified event of an unknown `type` is acknowledged and handed to `onUnknownEvent`; a
 * `task.ai_generated` one without `onAiGenerated` is refused with 501 and reported to `onError`
 * (or, without `onError`, written once to `console.warn`), since acknowledging it would leave
 * the end user waiting until the gateway's callback timeout.
 *
 * The secret(s) are checked and decoded once, here: a missing or empty secret (typically an
 * unset environment variable) throws a {@link WebhookVerificationError} `invalid_secret` at
 * once rather than answering every delivery 500. There is no environment fallback: pass it.
 *
 * @example
 * ```ts
 * const handler = createWebhookHandler({
 *   secret: process.env.MODELRIVER_WEBHOOK_SECRET!,
 *   client: modelRiver,
 *   onCompleted: async (event) => saveAnswer(event.channel_id, event.content),
 *   onAiGenerated: async (event) => ({ data: { ...(event.ai_response.data as object), price: await lookUpPrice() } }),
 * });
 * const { status, body } = await handler.handle({ body: rawBody, headers });
 * ```
 */
export function createWebhookHandler(options: WebhookHandlerOptions): WebhookHandler {
  const keys = endpointKeys(options, 'createWebhookHandler');
  if (options.onAiGenerated && !options.client) {
    throw new ModelRiverError('invalid_argument', 'onAiGenerated needs a ModelRiver `client` to post the callback with.');
  }
  const store = options.store === false ? null : (options.store ?? createMemoryIdempotencyStore({ now: options.now }));
  const useAsync = options.verify === 'async' || (options.verify === undefined && !loadNodeCrypto());
  const inFlight = new Map<string, Promise<WebhookHandlerResult>>();
  const pendingCallbacks = new Map<string, AiGeneratedResult | { error: string; message: string }>();

  const report = (error: unknown, event?: WebhookEvent) => {
    try {
      options.onError?.(error, event);
    } catch {
      // A logger that throws must not turn a handled webhook into a failed one.
    }
  };

  let warnedUnhandled = false;
  function refuseAiGenerated(event: AiGeneratedWebhook): WebhookHandlerResult {
    const message = 'This webhook endpoint has no onAiGenerated, so it cannot complete event-driven requests.';
    const hint = 'Pass onAiGenerated (and client) to createWebhookHandler, or send event-driven requests\' webhooks to an endpoint that has it.';
    const error = new ModelRiverError('ai_generated_unhandled', `${message} Delivery ${event.id} (channel ${event.channel_id}) refused with 501. ${hint}`);
    if (options.onError) report(error, event);
    else if (!warnedUnhandled) {
      // The only way to see this misconfiguration without onError: the gateway just logs a 501.
      warnedUnhandled = true;
      console.warn(`[@modelriver/node] ${error.message}`);
    }
    return { status: 501, body: { error: { code: 'ai_generated_unhandled', message, hint } }, event };
  }

  async function run(verified: VerifiedWebhook): Promise<WebhookHandlerResult> {
    const { event } = verified;
    const context: WebhookContext = { verified };
    try {
      if (store && (await store.has(verified.webhookId))) return { status: 200, body: { received: true, duplicate: true }, event };
      if (event.type === 'task.ai_generated' && !options.onAiGenerated) return refuseAiGenerated(event);
      await options.onEvent?.(event, context);
      if (event.type === 'task.completed') await options.onCompleted?.(event, context);
      else if (event.type === 'task.failed') await options.onFailed?.(event, context);
      else if (event.type === 'task.ai_generated') await callBack(event, verified.webhookId, context);
      await store?.add(verified.webhookId);
      return { status: 200, body: { received: true }, event };
    } catch (error) {
      report(error, event);
      // The handler's own error text stays in `onError`: the gateway sees a generic one.
      return { status: 500, body: RETRY_LATER, event };
    }
  }

  async function runUnknown(event: UnknownWebhookEvent, context: UnknownWebhookContext): Promise<WebhookHandlerResult> {
    try {
      if (store && (await store.has(event.id))) return { status: 200, body: { received: true, duplicate: true } };
      await options.onUnknownEvent?.(event, context);
      await store?.add(event.id);
      return { status: 200, body: { received: true } };
    } catch (error) {
      report(error);
      return { status: 500, body: RETRY_LATER };
    }
  }

  async function callBack(event: AiGeneratedWebhook, deliveryId: string, context: WebhookContext): Promise<void> {
    let payload = pendingCallbacks.get(deliveryId);
    if (!payload) {
      try {
        const result = await options.onAiGenerated!(event, context);
        if (result === undefined) return;
        if (!result || typeof result !== 'object' || !('data' in result)) {
          throw new ModelRiverError('invalid_callback_result', 'onAiGenerated must return { data, task_id?, metadata? } or undefined.', {
            details: { eventId: event.id },
          });
        }
        payload = result;
      } catch (error) {
        // Transient: answer 500 (run() reports it) so the redelivery runs onAiGenerated again.
        if (isTransientError(error)) throw error;
        report(error, event);
        payload = BACKEND_ERROR;
      }
    }
    const client = options.client!;
    const callOptions = { idempotencyKey: `callback_${deliveryId}`, url: event.callback_url };
    pendingCallbacks.delete(deliveryId);
    try {
      if ('data' in payload) await client.callback(event.channel_id, payload, callOptions);
      else await client.callbackError(event.channel_id, payload, callOptions);
    } catch (error) {
      // The gateway refused the callback itself (409: no longer awaiting one — already received
      // or timed out; 400/404/413/422): a redelivery cannot change that, so acknowledge and
      // report rather than loop. Anything else (5xx, network, 401) answers 500 for a redelivery.
      if (error instanceof InvalidRequestError || error instanceof NotFoundError) {
        report(error, event);
        return;
      }
      if (pendingCallbacks.size >= MAX_PENDING_CALLBACKS) pendingCallbacks.delete(pendingCallbacks.keys().next().value as string);
      pendingCallbacks.set(deliveryId, payload);
      throw error;
    }
  }

  // A redelivery racing the first one waits for it rather than running the handlers twice.
  const once = (id: string, work: () => Promise<WebhookHandlerResult>): Promise<WebhookHandlerResult> => {
    const running = inFlight.get(id);
    if (running) {
      return running.then((r) => (r.status === 200 ? { ...r, body: { received: true, duplicate: true } } : r));
    }
    const promise = work().finally(() => inFlight.delete(id));
    inFlight.set(id, promise);
    return promise;
  };
  const dispatch = (verified: VerifiedWebhook): Promise<WebhookHandlerResult> => once(verified.webhookId, () => run(verified));

  return {
    dispatch,
    async handle(request) {
      let signature: VerifiedSignature;
      let delivered: ReturnType<typeof readDeliveredEvent>;
      try {
        const delivery = { toleranceSec: options.toleranceSec, now: options.now, body: request.body, headers: request.headers };
        signature = useAsync ? await verifySignatureWithKeysAsync(delivery, keys) : verifySignatureWithKeys(delivery, keys);
        delivered = readDeliveredEvent(rawBody(request.body));
      } catch (error) {
        report(error);
        return errorResult(error);
      }
      if ('unknown' in delivered) {
        const event = delivered.unknown;
        return once(event.id, () => runUnknown(event, { verified: { ...signature, webhookId: event.id } }));
      }
      return dispatch({ ...signature, event: delivered.event, webhookId: delivered.event.id });
    },
  };
}

/** The answer for a verification failure (or any unexpected error: 500). */
export function errorResult(error: unknown): WebhookHandlerResult {
  if (error instanceof WebhookVerificationError) {
    const { code, hint } = error;
    return { status: error.status, body: { error: { code, message: error.message, ...(hint ? { hint } : {}) } } };
  }
  return { status: 500, body: { error: { code: 'internal_error', message: 'The webhook could not be processed.' } } };
}

/**
 * Checks a long-lived endpoint's secret(s) and tolerance at creation and decodes the keys once.
 * Throws `invalid_secret` (or `invalid_options`) naming `where`, so a missing secret stops the
 * app at start-up instead of every delivery being answered 500 and redelivered for hours.
 *
 * @example
 * ```ts
 * const keys = endpointKeys(options, 'createWebhookHandler');
 * ```
 */
export function endpointKeys(options: Partial<WebhookSecretOptions> & { toleranceSec?: number } | undefined, where: string): SecretKeys {
  let keys: SecretKeys;
  try {
    keys = secretKeys(options ?? {});
  } catch {
    throw new WebhookVerificationError(
      'invalid_secret',
      `${where} needs secret: "whsec_…" or secrets: ["whsec_…", …] (non-empty strings).`,
      'Pass the endpoint\'s signing secret, e.g. process.env.MODELRIVER_WEBHOOK_SECRET: is that variable set where this runs?',
    );
  }
  const tolerance = options?.toleranceSec;
  if (tolerance !== undefined && !(typeof tolerance === 'number' && tolerance >= 0)) {
    throw new WebhookVerificationError('invalid_options', `${where}: toleranceSec must be a number >= 0 (seconds), got ${String(tolerance)}.`);
  }
  return keys;
}
