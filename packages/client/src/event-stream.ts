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
 * switch and response, and its text is never more than the request's text.
 *
 * Events are queued from the start even when no iterator was requested yet,
 * because one may be requested later (`const s = client.stream(o); await x;
 * for await (const e of s)`); thanks to merging, a stream that is never iterated
 * holds one `tokens` item with the text so far.
 */
import { ModelRiverError } from './errors.js';
import type { ToolCallPayload } from './protocol.js';
import { isTerminalStatus } from './stream-state.js';
import type { AIResponse, StreamEvent } from './types.js';

const DEFAULT_MAX_QUEUED = 1000;

/** Code of the rejection of `finalResponse()`/`finalText()` when the stream ends without a terminal response. */
export const STREAM_ENDED = 'stream_ended';

type Waiter = [resolve: (result: IteratorResult<StreamEvent>) => void, reject: (error: Error) => void];
type Deferred<T> = [promise: Promise<T>, resolve: (value: T) => void, reject: (error: Error) => void];

function deferred<T>(): Deferred<T> {
  const d = [] as unknown as Deferred<T>;
  d[0] = new Promise<T>((resolve, reject) => {
    // A promise settles once: later calls are no-ops, so no flag is needed.
    d[1] = resolve;
    d[2] = reject;
  });
  // Nobody may ever ask for the result; an unhandled rejection must not crash Node.
  d[0].catch(() => undefined);
  return d;
}

const done = (): IteratorResult<StreamEvent> => ({ value: undefined, done: true });

/**
 * A single-consumer async iterable of `StreamEvent`s with the final result as promises.
 *
 * `finalResponse()` resolves with the first terminal response, whatever its
 * status: `success` and `completed`, but also `error` and `cancelled` (inspect
 * `status` and `error`), because a failed request is still an answer from the
 * server, with its `meta` and error body. It rejects with the `fail()` error
 * (client-side failures: unauthorized, connection_failed, …), or with a
 * `ModelRiverError` coded `stream_ended` when the stream ends without a
 * terminal response (`end()` too early, a `break` out of the loop, or a later
 * `client.stream()` for the same request that took the request over).
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
  declare onReturn: (() => void) | null;
  /**
   * Set by the client that feeds the stream: the request's whole text, read when the
   * terminal response has no `content`. It includes what was restored or received
   * before the stream started, and spares the stream keeping a copy of every delta.
   */
  /** @internal */
  declare _textOf: (() => string) | null;

  /** @internal */
  declare private _maxQueued: number;
  /** @internal */
  declare private _items: StreamEvent[];
  /** 0 open, 1 ended (or returned), 2 failed. */
  /** @internal */
  declare private _state: 0 | 1 | 2;
  /** The error of `fail()` until a read has thrown it. */
  /** @internal */
  declare private _failure: Error | null;
  /** @internal */
  declare private _waiters: Waiter[];
  /** @internal */
  declare private _iterated: boolean;
  /** @internal */
  declare private _dropped: number;
  /** @internal */
  declare private _text: string;
  /** @internal */
  declare private _response: Deferred<AIResponse>;
  /** @internal */
  declare private _finalText: Deferred<string>;

  constructor(options?: { maxQueued?: number /* default 1000 */ }) {
    const max = options?.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (typeof max !== 'number' || !(max >= 1)) {
      throw new ModelRiverError('invalid_options', `maxQueued must be a number >= 1 (got ${String(max)})`);
    }
    this._maxQueued = max;
    this.onReturn = this._failure = this._textOf = null;
    this._items = [];
    this._waiters = [];
    this._state = this._dropped = 0;
    this._iterated = false;
    this._text = '';
    this._response = deferred();
    this._finalText = deferred();
  }

  /** `status` events dropped because the consumer fell more than `maxQueued` items behind. */
  get dropped(): number {
    return this._dropped;
  }

  /** Adds an event. Never blocks; ignored once the stream has ended, failed or been returned. */
  push(event: StreamEvent): void {
    if (this._state !== 0) return;
    // Kept whether or not anybody iterates (the final promises need it), unless the client keeps the text.
    if (event.type === 'tokens') {
      if (!this._textOf) this._text += event.payload.delta;
    } else if (event.type === 'response' && isTerminalStatus(event.payload.status)) {
      const content = event.payload.content;
      this._response[1](event.payload);
      this._finalText[1](typeof content === 'string' ? content : (this._textOf?.() ?? this._text));
    }
    const waiter = this._waiters.shift();
    // A waiting consumer means the queue is empty: hand the event over directly.
    if (waiter !== undefined) return waiter[0]({ value: event, done: false });
    const items = this._items;
    const last = items[items.length - 1];
    if (last?.type === 'tokens' && event.type === 'tokens') {
      const a = last.payload;
      items[items.length - 1] = { type: 'tokens', payload: { seq: event.payload.seq, first_seq: a.first_seq ?? a.seq, delta: a.delta + event.payload.delta } };
    } else if (last?.type === 'tool_call' && event.type === 'tool_call' && last.payload.index === event.payload.index) {
      const a = last.payload;
      const b = event.payload;
      const payload: ToolCallPayload = { seq: b.seq, index: a.index, arguments: a.arguments + b.arguments };
      const id = a.id ?? b.id;
      const name = a.name ?? b.name;
      if (id !== undefined) payload.id = id;
      if (name !== undefined) payload.name = name;
      items[items.length - 1] = { type: 'tool_call', payload };
    } else if (event.type === 'status' && items.length >= this._maxQueued) this._dropped++;
    else items.push(event);
  }

  /** Ends the stream: iteration finishes once the queued events are read. */
  end(): void {
    this._end();
  }

  /** Fails the stream: iteration throws `error` once the queued events are read. */
  fail(error: Error): void {
    if (this._state !== 0) return;
    this._state = 2;
    this._failure = error;
    this._settle(error);
    this._waiters.splice(0).forEach((waiter, i) => {
      if (i > 0) return waiter[0](done());
      this._failure = null; // delivered: later reads are simply done
      waiter[1](error);
    });
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
    return this._response[0];
  }

  /**
   * The whole text: the terminal response's `content` when given, else the concatenated
   * deltas (for `client.stream()`, the request's whole text, with what arrived or was
   * restored before the stream started).
   *
   * @example
   * ```ts
   * console.log(await client.stream(ack).finalText());
   * ```
   */
  finalText(): Promise<string> {
    return this._finalText[0];
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
    if (this._iterated) {
      throw new ModelRiverError('invalid_options', 'an EventStream has one consumer: call client.stream() again');
    }
    this._iterated = true;
    return {
      next: () => {
        const failure = this._failure;
        if (this._items.length > 0) return Promise.resolve({ value: this._items.shift() as StreamEvent, done: false });
        if (failure !== null) {
          this._failure = null;
          return Promise.reject(failure);
        }
        return this._state !== 0 ? Promise.resolve(done()) : new Promise((resolve, reject) => this._waiters.push([resolve, reject]));
      },
      return: () => {
        this._items = [];
        this._failure = null;
        if (this._end('stream closed by its consumer')) {
          try {
            this.onReturn?.();
          } catch {
            // The client's hook; a `break` must not throw because of it.
          }
        }
        return Promise.resolve(done());
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    } as AsyncIterator<StreamEvent> & AsyncIterable<StreamEvent>;
  }

  /** Ends the stream if still open (the final promises reject with `message`); returns whether it was. */
  /** @internal */
  _end(message = 'stream ended before a final response'): boolean {
    if (this._state !== 0) return false;
    this._state = 1;
    this._settle(new ModelRiverError(STREAM_ENDED, message));
    for (const waiter of this._waiters.splice(0)) waiter[0](done());
    return true;
  }

  /** @internal */
  private _settle(error: Error): void {
    this._response[2](error);
    this._finalText[2](error);
  }
}
