/**
 * The async iterable behind `client.stream()`: the client pushes wire events in,
 * one consumer pulls them out with `for await`, and `finalResponse()` /
 * `finalText()` give the result whether or not anybody iterates.
 *
 * Memory stays bounded when the consumer falls behind: consecutive unread
 * `tokens` events are merged into one (nothing is lost: the deltas are
 * concatenated, `first_seq` is the earlier one's, `seq` the later one's; the
 * range may also span a `status` dropped in between), consecutive `tool_call`
 * deltas of one call are merged the same way (`seq` is the later one's), and
 * past `maxQueued` unread items `status` events (the
 * only other kind a stream has many of) are dropped and counted in `dropped`;
 * `client.getState().lastStatus` still holds the latest. Responses are never
 * dropped. So the queue holds at most `maxQueued` items plus one per tool-call
 * switch and response, and its text is never more than the stream's own text.
 *
 * Events are queued from the start even when no iterator was requested yet,
 * because one may be requested later (`const s = client.stream(o); await x;
 * for await (const e of s)`); thanks to merging, a stream that is never iterated
 * holds one `tokens` item with the text so far.
 */
import { ModelRiverError } from './errors.js';
import type { TokensPayload, ToolCallPayload } from './protocol.js';
import type { AIResponse, StreamEvent } from './types.js';

const DEFAULT_MAX_QUEUED = 1000;

/** Code of the rejection of `finalResponse()`/`finalText()` when the stream ends without a terminal response. */
export const STREAM_ENDED = 'stream_ended';

type TokensEvent = Extract<StreamEvent, { type: 'tokens' }>;
type ToolCallEvent = Extract<StreamEvent, { type: 'tool_call' }>;

interface Waiter {
  resolve(result: IteratorResult<StreamEvent>): void;
  reject(error: Error): void;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
  settled: boolean;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may ever ask for the result; an unhandled rejection must not crash Node.
  promise.catch(() => undefined);
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      if (d.settled) return;
      d.settled = true;
      resolve(value);
    },
    reject: (error) => {
      if (d.settled) return;
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

function mergeTokens(a: TokensPayload, b: TokensPayload): TokensEvent {
  return { type: 'tokens', payload: { seq: b.seq, first_seq: a.first_seq ?? a.seq, delta: a.delta + b.delta } };
}

function mergeToolCalls(a: ToolCallPayload, b: ToolCallPayload): ToolCallEvent {
  const payload: ToolCallPayload = { seq: b.seq, index: a.index, arguments: a.arguments + b.arguments };
  const id = a.id ?? b.id;
  const name = a.name ?? b.name;
  if (id !== undefined) payload.id = id;
  if (name !== undefined) payload.name = name;
  return { type: 'tool_call', payload };
}

function isTerminalResponse(response: AIResponse): boolean {
  return response.status !== 'ai_generated';
}

/**
 * A single-consumer async iterable of `StreamEvent`s with the final result as promises.
 *
 * `finalResponse()` resolves with the first terminal response, whatever its
 * status: `success` and `completed`, but also `error` and `cancelled` (inspect
 * `status` and `error`), because a failed request is still an answer from the
 * server, with its `meta` and error body. It rejects with the `fail()` error
 * (client-side failures: unauthorized, connection_failed, …), or with a
 * `ModelRiverError` coded `stream_ended` when the stream ends without a
 * terminal response (`end()` too early, or a `break` out of the loop).
 *
 * @example
 * ```ts
 * const stream = new EventStream();
 * stream.push({ type: 'tokens', payload: { seq: 1, delta: 'Hi' } });
 * stream.push({ type: 'response', payload: { seq: 2, status: 'success', channel_id: 'c1', meta: {} } });
 * stream.end();
 * for await (const event of stream) console.log(event.type); // tokens, response
 * await stream.finalText(); // 'Hi'
 * ```
 */
export class EventStream implements AsyncIterable<StreamEvent> {
  /** Called once when the consumer stops early (`break`, `return()`), while the stream was still open. */
  onReturn: (() => void) | null = null;

  private readonly maxQueued: number;
  /** Unread events are `items[head..]`; read slots are cleared so they can be collected. */
  private items: Array<StreamEvent | undefined> = [];
  private head = 0;
  private state: 'open' | 'ended' | 'failed' = 'open';
  private failure: Error | null = null;
  private waiters: Waiter[] = [];
  private iterated = false;
  private droppedCount = 0;
  private text = '';
  private readonly response = deferred<AIResponse>();
  private readonly finalTextResult = deferred<string>();

  constructor(options?: { maxQueued?: number /* default 1000 */ }) {
    const max = options?.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (typeof max !== 'number' || Number.isNaN(max) || max < 1) {
      throw new ModelRiverError('invalid_options', `maxQueued must be a number >= 1 (got ${String(max)})`);
    }
    this.maxQueued = max;
  }

  /** `status` events dropped because the consumer fell more than `maxQueued` items behind. */
  get dropped(): number {
    return this.droppedCount;
  }

  /** Adds an event. Never blocks; ignored once the stream has ended, failed or been returned. */
  push(event: StreamEvent): void {
    if (this.state !== 'open') return;
    this.track(event);
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      // A waiting consumer means the queue is empty: hand the event over directly.
      waiter.resolve({ value: event, done: false });
      return;
    }
    this.enqueue(event);
  }

  /** Ends the stream: iteration finishes once the queued events are read. */
  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.settleUnfinished(new ModelRiverError(STREAM_ENDED, 'The stream ended before a final response'));
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  /** Fails the stream: iteration throws `error` once the queued events are read. */
  fail(error: Error): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    this.settleUnfinished(error);
    const waiters = this.waiters.splice(0);
    const first = waiters.shift();
    if (first !== undefined) {
      this.failure = null; // delivered: later reads are simply done
      first.reject(error);
    }
    for (const waiter of waiters) waiter.resolve({ value: undefined, done: true });
  }

  /**
   * The terminal response (`success`, `completed`, `error` or `cancelled`).
   *
   * @example
   * ```ts
   * const response = await client.stream(ack).finalResponse();
   * if (response.status === 'error') console.error(response.error?.code);
   * ```
   */
  finalResponse(): Promise<AIResponse> {
    return this.response.promise;
  }

  /**
   * The whole text: the terminal response's `content` when given, else the concatenated deltas.
   *
   * @example
   * ```ts
   * console.log(await client.stream(ack).finalText());
   * ```
   */
  finalText(): Promise<string> {
    return this.finalTextResult.promise;
  }

  /**
   * The one iterator of this stream; asking a second time throws `invalid_options`.
   *
   * @example
   * ```ts
   * for await (const event of stream) if (event.type === 'tokens') process.stdout.write(event.payload.delta);
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
    if (this.iterated) {
      throw new ModelRiverError(
        'invalid_options',
        'An EventStream has a single consumer: iterate it once, or call client.stream() again',
      );
    }
    this.iterated = true;
    const iterator: AsyncIterator<StreamEvent> & AsyncIterable<StreamEvent> = {
      next: () => this.next(),
      return: () => this.stop(),
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return iterator;
  }

  private next(): Promise<IteratorResult<StreamEvent>> {
    if (this.head < this.items.length) {
      const value = this.items[this.head] as StreamEvent;
      this.items[this.head] = undefined;
      this.head++;
      this.compact();
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== null) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.state !== 'open') return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private stop(): Promise<IteratorResult<StreamEvent>> {
    const wasOpen = this.state === 'open';
    if (wasOpen) this.state = 'ended';
    this.items = [];
    this.head = 0;
    this.failure = null;
    this.settleUnfinished(new ModelRiverError(STREAM_ENDED, 'The stream was closed by its consumer'));
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    if (wasOpen && this.onReturn !== null) {
      try {
        this.onReturn();
      } catch {
        // The client's hook; a `break` must not throw because of it.
      }
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Keeps what the final promises need, whether or not anybody iterates. */
  private track(event: StreamEvent): void {
    if (event.type === 'tokens') {
      this.text += event.payload.delta;
    } else if (event.type === 'response' && isTerminalResponse(event.payload) && !this.response.settled) {
      const content = event.payload.content;
      this.response.resolve(event.payload);
      this.finalTextResult.resolve(typeof content === 'string' ? content : this.text);
    }
  }

  private enqueue(event: StreamEvent): void {
    const n = this.items.length;
    const last = n > this.head ? this.items[n - 1] : undefined;
    if (last !== undefined) {
      if (event.type === 'tokens' && last.type === 'tokens') {
        this.items[n - 1] = mergeTokens(last.payload, event.payload);
        return;
      }
      if (event.type === 'tool_call' && last.type === 'tool_call' && last.payload.index === event.payload.index) {
        this.items[n - 1] = mergeToolCalls(last.payload, event.payload);
        return;
      }
    }
    if (event.type === 'status' && n - this.head >= this.maxQueued) {
      this.droppedCount++;
      return;
    }
    this.items.push(event);
  }

  /** Drops read slots once they are the larger part of the array (amortised O(1) per read). */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  private settleUnfinished(error: Error): void {
    this.response.reject(error);
    this.finalTextResult.reject(error);
  }
}
