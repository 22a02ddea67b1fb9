/**
 * CLI listeners (contract §3, "Delivery through a CLI"): sockets authenticated with a project's API
 * key that join `webhooks:{project_id}`, receive that project's webhook deliveries whose target is
 * `cli`, POST them to a local URL and report the local status back. Each delivery attempt goes to
 * one listener (the one that joined last) and ends when it reports, disconnects or times out; the
 * dispatcher then treats the outcome exactly like an HTTP endpoint's answer.
 */
import { randomUUID } from 'node:crypto';
import type { Connection } from './connection.js';
import { pushFrame, replyFrame } from './frames.js';
import { isUuid } from './topic.js';
import { systemTimers } from '../timers.js';
import type { TimerHandle, Timers } from '../timers.js';
// The dispatcher's CLI transport is what this implements: one attempt in, one outcome out.
import type { CliTransportInput as ListenerDeliveryInput, CliTransportOutcome as ListenerOutcome } from '../webhooks/types.js';

/** Topic prefix of the listener topic `webhooks:{project_id}`. */
export const LISTENER_TOPIC_PREFIX = 'webhooks:';

/** The listener topic of whatever project the socket's API key belongs to. */
export const SELF_LISTENER_TOPIC = 'webhooks:self';

/** Push event carrying one delivery attempt to a listener. */
export const LISTENER_DELIVERY_EVENT = 'webhook';

/** The listener's report of one attempt: `{attempt_id, status}` or `{attempt_id, error}`. */
export const LISTENER_RESULT_EVENT = 'webhook_result';

/** Longest `error` text kept from a listener's report; the rest is cut. */
const MAX_REPORTED_ERROR_CHARS = 500;

interface Pending {
  connection: Connection;
  resolve: (outcome: ListenerOutcome) => void;
  timer: TimerHandle;
  onAbort: () => void;
  signal: AbortSignal | undefined;
}

interface Joined {
  connection: Connection;
  joinRefJson: string;
  topic: string;
}


/**
 * The listeners of every project and the attempts waiting for their reports. The hub hands it
 * joins, reports and disconnects of listener sockets; the dispatcher calls {@link deliver}.
 *
 * @example
 * ```ts
 * const listeners = new ListenerRegistry({ authenticate: (key) => projects.byKey(key)?.id });
 * const hub = createChannelHub({ projectId, listeners });
 * const outcome = await listeners.deliver({ projectId, deliveryId, channelId, payload, headers, timeoutMs: 10_000 });
 * ```
 */
export class ListenerRegistry {
  /** Joined listeners per project, oldest first. */
  private readonly byProject = new Map<string, Joined[]>();
  private readonly pending = new Map<string, Pending>();
  private readonly timers: Timers;

  constructor(
    private readonly options: {
      /** The project id of an API key, or undefined when the key is unknown. */
      authenticate: (apiKey: string) => string | undefined;
      timers?: Timers;
      /** Told when a project gains its first listener here or loses its last. */
      onPresence?: (projectId: string, present: boolean) => void;
    },
  ) {
    this.timers = options.timers ?? systemTimers;
  }

  /** The project of an API key presented at the upgrade, or undefined (answered 401). */
  authenticate(apiKey: string): string | undefined {
    return this.options.authenticate(apiKey);
  }

  /** Projects with at least one listener connected here. */
  projects(): string[] {
    return [...this.byProject.keys()];
  }

  /** Connected listeners of a project. */
  count(projectId: string): number {
    return this.byProject.get(projectId)?.length ?? 0;
  }

  /**
   * A join on a listener socket. Only the topic of the key the socket was opened with (or its
   * alias `webhooks:self`) is allowed; another project's is refused `unauthorized`, a malformed
   * one `invalid_channel_format`. Deliveries are pushed on the topic as joined.
   */
  join(connection: Connection, joinRef: string | null, ref: string | null, topic: string): void {
    // `webhooks:self` names the key's own project, for a listener that does not know its id.
    const requested = topic === SELF_LISTENER_TOPIC ? connection.topic : topic;
    const projectId = requested.startsWith(LISTENER_TOPIC_PREFIX) ? requested.slice(LISTENER_TOPIC_PREFIX.length) : '';
    if (!isUuid(projectId)) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'invalid_channel_format' }));
      return;
    }
    if (requested !== connection.topic) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unauthorized' }));
      return;
    }
    this.remove(connection);
    const list = this.byProject.get(projectId) ?? [];
    list.push({ connection, joinRefJson: JSON.stringify(joinRef), topic });
    this.byProject.set(projectId, list);
    if (list.length === 1) this.options.onPresence?.(projectId, true);
    connection.send(replyFrame(joinRef, ref, topic, 'ok', { project_id: projectId }));
  }

  /** Any other frame on a listener socket: a report, a leave, or something unknown. */
  receive(connection: Connection, joinRef: string | null, ref: string | null, topic: string, event: string, payload: unknown): void {
    const joined = this.joinedOf(connection);
    if (event === 'phx_leave') {
      if (joined?.topic === topic) this.leave(connection);
      connection.send(replyFrame(joinRef, ref, topic, 'ok', {}));
      return;
    }
    if (joined?.topic !== topic) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unmatched_topic' }));
      return;
    }
    if (event !== LISTENER_RESULT_EVENT) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unknown_event' }));
      return;
    }
    const report = readReport(payload);
    if (report === null) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'invalid_payload' }));
      return;
    }
    const pending = this.pending.get(report.attemptId);
    // Only the socket the attempt went to may settle it; a late or foreign report changes nothing.
    if (pending === undefined || pending.connection !== connection) {
      connection.send(replyFrame(joinRef, ref, topic, 'error', { reason: 'unknown_attempt' }));
      return;
    }
    connection.send(replyFrame(joinRef, ref, topic, 'ok', {}));
    this.settle(report.attemptId, report.outcome);
  }

  /** The socket left its topic or closed: it gets nothing more, and its attempts fail now. */
  leave(connection: Connection): void {
    this.remove(connection);
    for (const [attemptId, pending] of this.pending) {
      if (pending.connection === connection) this.settle(attemptId, { ok: false, error: 'cli listener disconnected' });
    }
  }

  /**
   * Sends one attempt to the project's newest listener and resolves with its report. Never
   * rejects: no listener, a disconnect, a timeout or an abort are failed outcomes.
   */
  deliver(input: ListenerDeliveryInput): Promise<ListenerOutcome> {
    const list = this.byProject.get(input.projectId);
    const target = list?.[list.length - 1];
    if (target === undefined) return Promise.resolve({ ok: false, error: 'no cli listener connected' });
    if (input.signal?.aborted) return Promise.resolve({ ok: false, error: 'dispatcher closed' });
    const attemptId = randomUUID();
    return new Promise<ListenerOutcome>((resolve) => {
      const onAbort = (): void => this.settle(attemptId, { ok: false, error: 'dispatcher closed' });
      const timer = this.timers.setTimeout(
        () => this.settle(attemptId, { ok: false, error: `timeout: the cli listener did not report within ${input.timeoutMs} ms` }),
        input.timeoutMs,
      );
      this.pending.set(attemptId, { connection: target.connection, resolve, timer, onAbort, signal: input.signal });
      input.signal?.addEventListener('abort', onAbort, { once: true });
      const payload = JSON.stringify({
        attempt_id: attemptId,
        delivery_id: input.deliveryId,
        channel_id: input.channelId,
        headers: input.headers,
        body: input.payload,
        timeout_ms: input.timeoutMs,
      });
      target.connection.send(pushFrame(target.joinRefJson, JSON.stringify(target.topic), LISTENER_DELIVERY_EVENT, payload));
    });
  }

  /** Fails every attempt in flight (the hub is closing). */
  close(): void {
    for (const attemptId of [...this.pending.keys()]) this.settle(attemptId, { ok: false, error: 'gateway closing' });
    this.byProject.clear();
  }

  private settle(attemptId: string, outcome: ListenerOutcome): void {
    const pending = this.pending.get(attemptId);
    if (pending === undefined) return;
    this.pending.delete(attemptId);
    this.timers.clearTimeout(pending.timer);
    pending.signal?.removeEventListener('abort', pending.onAbort);
    pending.resolve(outcome);
  }

  private joinedOf(connection: Connection): Joined | undefined {
    const projectId = connection.topic.slice(LISTENER_TOPIC_PREFIX.length);
    return this.byProject.get(projectId)?.find((j) => j.connection === connection);
  }

  private remove(connection: Connection): void {
    const projectId = connection.topic.slice(LISTENER_TOPIC_PREFIX.length);
    const list = this.byProject.get(projectId);
    if (list === undefined) return;
    const rest = list.filter((j) => j.connection !== connection);
    if (rest.length === list.length) return;
    if (rest.length > 0) {
      this.byProject.set(projectId, rest);
      return;
    }
    this.byProject.delete(projectId);
    this.options.onPresence?.(projectId, false);
  }
}

/** A listener topic for a project. */
export function listenerTopic(projectId: string): string {
  return `${LISTENER_TOPIC_PREFIX}${projectId}`;
}

function readReport(payload: unknown): { attemptId: string; outcome: ListenerOutcome } | null {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null;
  const { attempt_id: attemptId, status, error } = payload as Record<string, unknown>;
  if (typeof attemptId !== 'string' || attemptId.length === 0 || attemptId.length > 100) return null;
  const validStatus = typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599;
  if (status !== undefined && status !== null && !validStatus) return null;
  if (error !== undefined && error !== null && typeof error !== 'string') return null;
  const text = typeof error === 'string' && error.length > 0 ? `cli: ${error.slice(0, MAX_REPORTED_ERROR_CHARS)}` : undefined;
  if (validStatus) {
    if (status >= 200 && status < 300) return { attemptId, outcome: { ok: true, status } };
    return { attemptId, outcome: { ok: false, status, ...(text !== undefined ? { error: text } : {}) } };
  }
  return { attemptId, outcome: { ok: false, error: text ?? 'cli: the local target gave no answer' } };
}
