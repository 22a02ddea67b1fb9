/**
 * A bare Phoenix v2 client over `ws`, for tests that check a gateway's side of
 * the contract frame by frame (the fake's own tests, the reference gateway's).
 * It does nothing on its own: no heartbeats, no rejoin, no seq bookkeeping.
 */
import WebSocket from 'ws';
import type { Frame } from './wire-types.js';
import { decodeFrame, encodeFrame } from './frames.js';

/** Why a {@link RawClient} operation failed. */
export class RawClientError extends Error {
  override readonly name = 'RawClientError';
  constructor(
    readonly code: 'refused' | 'timeout' | 'closed' | 'socket_error',
    message: string,
    /** The HTTP status of a refused upgrade. */
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Waiter {
  from: number;
  predicate: (frame: Frame) => boolean;
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
}

// Captured at load so a test's fake timers do not freeze the safety timeouts.
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realClearTimeout = globalThis.clearTimeout.bind(globalThis);

/**
 * A frame-level client.
 *
 * @example
 * const client = await RawClient.connect(gw.socketUrl(ch.wsToken));
 * const reply = await client.join(ch.topic, 0);   // the phx_reply payload
 * const first = await client.nextEvent('tokens');
 * client.close();
 */
export class RawClient {
  /** Every text received, in order. */
  readonly raw: string[] = [];
  /** Every frame received that decoded, in order. */
  readonly frames: Frame[] = [];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;

  private readonly waiters = new Set<Waiter>();
  private nextRef = 1;
  private isClosed = false;

  private constructor(private readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.isClosed = true;
        const error = new RawClientError('closed', `Socket closed (${code})`);
        for (const waiter of [...this.waiters]) waiter.reject(error);
        resolve({ code, reason: reason.toString('utf8') });
      });
    });
    ws.on('message', (data: WebSocket.RawData) => {
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as Buffer).toString('utf8');
      this.raw.push(text);
      const frame = decodeFrame(text);
      if (!frame) return;
      this.frames.push(frame);
      for (const waiter of [...this.waiters]) {
        if (this.frames.length - 1 >= waiter.from && waiter.predicate(frame)) waiter.resolve(frame);
      }
    });
  }

  /**
   * Opens a socket; rejects with code `refused` (and the HTTP `status`) when the upgrade is refused.
   *
   * @example
   * await expect(RawClient.connect(gw.socketUrl('nope'))).rejects.toMatchObject({ code: 'refused', status: 403 });
   */
  static connect(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('unexpected-response', (_req, res) => {
        reject(new RawClientError('refused', `Upgrade refused with HTTP ${res.statusCode}`, res.statusCode));
        ws.terminate();
      });
      ws.once('open', () => {
        ws.off('error', onError);
        // Later socket errors end in 'close'; keep them from being thrown.
        ws.on('error', () => undefined);
        resolve(new RawClient(ws));
      });
      const onError = (error: Error): void => reject(new RawClientError('socket_error', error.message));
      ws.on('error', onError);
    });
  }

  /** False once closed. */
  get open(): boolean {
    return !this.isClosed;
  }

  /**
   * Sends a frame, or any text as-is.
   *
   * @example
   * client.send('{garbage');
   */
  send(data: Frame | string): void {
    this.ws.send(typeof data === 'string' ? data : encodeFrame(data));
  }

  /**
   * Pushes `event` on `topic` with a fresh ref and resolves with the payload of its `phx_reply`.
   *
   * @example
   * const reply = await client.push(ch.topic, 'cancel', {}, joinRef);
   */
  async push(topic: string, event: string, payload: unknown, joinRef: string | null = null, timeoutMs = 5_000): Promise<unknown> {
    const ref = String(this.nextRef++);
    const from = this.frames.length;
    this.send([joinRef, ref, topic, event, payload]);
    const reply = await this.waitFor((f) => f[3] === 'phx_reply' && f[1] === ref && f[2] === topic, { from, timeoutMs });
    return reply[4];
  }

  /**
   * Joins `topic` (join_ref = ref) and resolves with the reply payload.
   *
   * @example
   * const { status, response } = (await client.join(ch.topic, 3)) as { status: string; response: unknown };
   */
  join(topic: string, lastSeq?: number): Promise<unknown> {
    const joinRef = String(this.nextRef);
    return this.push(topic, 'phx_join', lastSeq === undefined ? {} : { last_seq: lastSeq }, joinRef);
  }

  /**
   * Resolves with the first received frame (from index `from`, default 0) that matches.
   *
   * @example
   * await client.waitFor((f) => f[3] === 'response');
   */
  waitFor(predicate: (frame: Frame) => boolean, options: { from?: number; timeoutMs?: number } = {}): Promise<Frame> {
    const from = options.from ?? 0;
    for (let i = from; i < this.frames.length; i += 1) {
      const frame = this.frames[i];
      if (frame && predicate(frame)) return Promise.resolve(frame);
    }
    if (this.isClosed) return Promise.reject(new RawClientError('closed', 'Socket is closed'));
    const timeoutMs = options.timeoutMs ?? 5_000;
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        from,
        predicate,
        resolve: (frame) => {
          realClearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(frame);
        },
        reject: (error) => {
          realClearTimeout(timer);
          this.waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = realSetTimeout(() => waiter.reject(new RawClientError('timeout', `Waited ${timeoutMs} ms for a frame`)), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Resolves with the payload of the first server event named `event` (from index `from`).
   *
   * @example
   * const response = (await client.nextEvent('response')) as { status: string };
   */
  async nextEvent(event: string, from = 0): Promise<unknown> {
    return (await this.waitFor((f) => f[3] === event, { from }))[4];
  }

  /** Server events received so far (everything but replies), as `[event, payload]`. */
  events(): Array<[event: string, payload: unknown]> {
    return this.frames.filter((f) => f[3] !== 'phx_reply').map((f) => [f[3], f[4]]);
  }

  /**
   * Closes cleanly.
   *
   * @example
   * client.close(1000);
   */
  close(code = 1000): void {
    this.ws.close(code);
  }
}
