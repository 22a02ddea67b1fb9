import type { ServerEventName } from '@modelriver/client';
import { ChannelHubError } from './errors.js';

/** An event on its way to the wire: a logged event, or a run of `tokens` merged into one. */
export interface OutgoingEvent {
  readonly seq: number;
  readonly event: ServerEventName;
  /** The payload as JSON, `seq` included. */
  readonly json: string;
}

/** A logged event other than `tokens`, encoded once and shared by every socket. */
export interface EncodedEvent {
  readonly event: Exclude<ServerEventName, 'tokens'>;
  readonly json: string;
}

/**
 * One log slot. A `tokens` event, which is most of any log, is kept as its bare delta string
 * (tens of bytes instead of an object and two strings), and its JSON is rebuilt when it is sent.
 */
export type Slot = string | EncodedEvent;

const OTHER_EVENTS: ReadonlySet<string> = new Set<ServerEventName>(['status', 'tool_call', 'response']);

/** `{"seq":N,"delta":"…"}`: the one `tokens` payload shape (`first_seq` only on merged frames). */
function tokensJson(seq: number, delta: string, firstSeq?: number): string {
  const first = firstSeq === undefined ? '' : `,"first_seq":${firstSeq}`;
  return `{"seq":${seq}${first},"delta":${JSON.stringify(delta)}}`;
}

/**
 * A channel's ordered event log: assigns `seq` (1, 2, 3, … with no gaps, so `seq - 1` is the
 * index) and answers "what comes after seq N", merging consecutive `tokens` for the replay and for
 * sockets that fell behind.
 *
 * @example
 * ```ts
 * const log = new EventLog();
 * log.append('tokens', { delta: 'Hel' });
 * log.append('tokens', { delta: 'lo' });
 * log.next(0, 16384); // { seq: 2, event: 'tokens', json: '{"seq":2,"first_seq":1,"delta":"Hello"}' }
 * log.at(2); // { seq: 2, event: 'tokens', json: '{"seq":2,"delta":"lo"}' }
 * ```
 */
export class EventLog {
  private readonly slots: Slot[] = [];

  get lastSeq(): number {
    return this.slots.length;
  }

  /**
   * Validates and appends an event, returning its `seq`; throws a {@link ChannelHubError}
   * (`invalid_event`, `invalid_payload`) before a `seq` is used, so a refused event leaves no gap.
   * A `tokens` payload keeps only its `delta` (the contract's whole shape for it) and is encoded
   * only when sent; other events are encoded here, which is also where an unserialisable payload
   * is refused.
   */
  append(event: string, payload: unknown): number {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
      if (event === 'tokens' || OTHER_EVENTS.has(event)) {
        throw new ChannelHubError('invalid_payload', `payload of "${event}" must be an object`);
      }
    }
    const seq = this.slots.length + 1;
    if (event === 'tokens') {
      const delta = (payload as { delta?: unknown }).delta;
      if (typeof delta !== 'string') throw new ChannelHubError('invalid_payload', 'tokens.delta must be a string');
      this.slots.push(delta);
      return seq;
    }
    if (!OTHER_EVENTS.has(event)) {
      throw new ChannelHubError('invalid_event', `unknown server event "${event}" (status, tokens, tool_call, response)`);
    }
    const { seq: _ignored, ...rest } = payload as Record<string, unknown>;
    let json: string;
    try {
      json = JSON.stringify({ seq, ...rest });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ChannelHubError('invalid_payload', `payload of "${event}" is not JSON-serializable: ${reason}`);
    }
    this.slots.push({ event: event as EncodedEvent['event'], json });
    return seq;
  }

  /**
   * Appends a slot another node already validated and numbered (a mirror of a channel run
   * elsewhere, or a log loaded from the store). Its `seq` is the next one.
   */
  appendSlot(slot: Slot): number {
    this.slots.push(slot);
    return this.slots.length;
  }

  /** Forgets every event after `seq` (events a node wrote locally but the store never took). */
  truncate(seq: number): void {
    if (seq < this.slots.length) this.slots.length = seq;
  }

  /** The raw slot at `seq` (what the store keeps), or `undefined`. */
  slotAt(seq: number): Slot | undefined {
    return this.slots[seq - 1];
  }

  /** The slots after `afterSeq`, for a store to persist or a node to load. */
  slotsAfter(afterSeq: number): Slot[] {
    return this.slots.slice(afterSeq);
  }

  /**
   * The event at `seq` on its own (no merging), or `undefined` when there is none: what live
   * delivery sends, built once per event and shared by every socket.
   */
  at(seq: number): OutgoingEvent | undefined {
    const slot = this.slots[seq - 1];
    if (slot === undefined) return undefined;
    if (typeof slot === 'string') return { seq, event: 'tokens', json: tokensJson(seq, slot) };
    return { seq, event: slot.event, json: slot.json };
  }

  /**
   * The next frame after `afterSeq`, or `undefined` when there is none. A run of consecutive
   * `tokens` becomes one frame `{seq: last, first_seq: first, delta: joined}` whose delta stays
   * within `maxMergedChars` (a single longer token is sent as it is), which keeps frames bounded
   * for clients with a frame-size limit.
   */
  next(afterSeq: number, maxMergedChars: number): OutgoingEvent | undefined {
    const slots = this.slots;
    const first = slots[afterSeq];
    if (first === undefined) return undefined;
    if (typeof first !== 'string') return this.at(afterSeq + 1);
    let end = afterSeq + 1;
    let chars = first.length;
    for (;;) {
      const slot = slots[end];
      if (typeof slot !== 'string' || chars + slot.length > maxMergedChars) break;
      chars += slot.length;
      end++;
    }
    if (end === afterSeq + 1) return this.at(end);
    let delta = '';
    for (let i = afterSeq; i < end; i++) delta += slots[i] as string;
    return { seq: end, event: 'tokens', json: tokensJson(end, delta, afterSeq + 1) };
  }
}
