/**
 * Validation of the client's options and of `connect()`'s, with the defaults
 * resolved once. A misuse throws `invalid_options` at construction with a message
 * that says the fix, instead of failing later on the wire.
 */
import { DEFAULT_RECONNECT, DEFAULT_REJOIN, resolveBackoff } from './backoff.js';
import { DEFAULT_JOIN_TIMEOUT_MS } from './channel.js';
import { ModelRiverError } from './errors.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './resume-record.js';
import { DEFAULT_PUSH_BUFFER } from './push.js';
import { DEFAULT_MAX_FRAME_BYTES } from './serializer.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from './socket.js';
import { isRecord, nonEmpty } from './events.js';
import type { AsyncResponse, BackoffOptions, ConnectOptions, ConnectParams, ModelRiverClientOptions, NotifyMode, PushBufferOptions } from './types.js';

/** The options with their defaults, as the client runs with them. */
export interface ResolvedOptions {
  _reconnect: BackoffOptions | false;
  _rejoin: BackoffOptions;
  _pushBuffer: PushBufferOptions;
  _heartbeatMs: number;
  _joinTimeoutMs: number;
  _maxFrameBytes: number;
  _maxAgeMs: number;
  _notify: NotifyMode;
}

export const invalidOptions = (message: string): ModelRiverError => new ModelRiverError('invalid_options', message);

/** The longest delay `setTimeout` keeps (2^31 - 1 ms, about 24.8 days): a longer one, or Infinity, fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `value`, a number > 0 (and <= `max` when given), or `invalid_options` naming `name`. */
function positive(name: string, value: unknown, max?: number): number {
  if (typeof value !== 'number' || !(value > 0 && value <= (max ?? value))) {
    throw invalidOptions(`${name} must be a number > 0${max ? ` and <= ${max}` : ''}, got ${String(value)}`);
  }
  return value;
}

/** Checks `options` (the first problem throws, in a fixed order) and fills in the defaults. */
export function resolveOptions(options: ModelRiverClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw invalidOptions('options must be an object');
  const notify = options.notify;
  const pushBuffer = {
    maxSize: options.pushBuffer?.maxSize ?? DEFAULT_PUSH_BUFFER.maxSize,
    timeoutMs: options.pushBuffer?.timeoutMs ?? DEFAULT_PUSH_BUFFER.timeoutMs,
  };
  const reconnect = options.reconnect === false ? false : resolveBackoff(options.reconnect, DEFAULT_RECONNECT, 'reconnect');
  const rejoin = resolveBackoff(options.rejoin, DEFAULT_REJOIN, 'rejoin');
  if (!Number.isInteger(pushBuffer.maxSize) || pushBuffer.maxSize < 0) {
    throw invalidOptions(`pushBuffer.maxSize must be an integer >= 0, got ${String(pushBuffer.maxSize)}`);
  }
  positive('pushBuffer.timeoutMs', pushBuffer.timeoutMs, MAX_TIMER_MS);
  const option = (name: 'heartbeatInterval' | 'joinTimeout' | 'maxFrameBytes' | 'requestTimeout', fallback: number, max?: number): number =>
    positive(name, options[name] === undefined ? fallback : options[name], max);
  const resolved: ResolvedOptions = {
    _reconnect: reconnect,
    _rejoin: rejoin,
    _pushBuffer: pushBuffer,
    // Infinity: no heartbeats (the socket times none it cannot time).
    _heartbeatMs: options.heartbeatInterval === Infinity ? Infinity : option('heartbeatInterval', DEFAULT_HEARTBEAT_INTERVAL_MS, MAX_TIMER_MS),
    _joinTimeoutMs: option('joinTimeout', DEFAULT_JOIN_TIMEOUT_MS, MAX_TIMER_MS),
    // Compared, never timed: any size or age, Infinity included, works.
    _maxFrameBytes: option('maxFrameBytes', DEFAULT_MAX_FRAME_BYTES),
    _maxAgeMs: option('requestTimeout', DEFAULT_REQUEST_TIMEOUT_MS),
    _notify: notify ?? 'sync',
  };
  if (
    !(notify === undefined || notify === 'sync' || notify === 'microtask' || notify === 'animationFrame') &&
    !(isRecord(notify) && typeof notify.intervalMs === 'number' && notify.intervalMs > 0)
  ) {
    throw invalidOptions('notify must be sync, microtask, animationFrame or {intervalMs > 0}');
  }
  if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') {
    throw invalidOptions('WebSocket must be a constructor, e.g. the `ws` package');
  }
  if (options.getToken !== undefined && typeof options.getToken !== 'function') {
    throw invalidOptions('getToken must be a function');
  }
  return resolved;
}

/**
 * `connect()`'s options in camelCase (the ack's snake_case fields are read too; a camelCase field
 * wins), or why they cannot start a request: a message that names the field to pass.
 */
export function readConnectOptions(options: ConnectOptions | undefined): ConnectParams | string {
  const o = (typeof options === 'object' && options !== null ? options : {}) as Partial<ConnectParams & AsyncResponse>;
  const channelId = o.channelId ?? o.channel_id;
  const wsToken = o.wsToken ?? o.ws_token;
  const websocketUrl = o.websocketUrl ?? o.websocket_url;
  const websocketChannel = o.websocketChannel ?? o.websocket_channel;
  const problem = (field: string, wire: string, what: string): string => `${field} ${what}: pass the ack of POST /v1/ai/async (its ${wire})`;
  return !nonEmpty(channelId)
    ? problem('channelId', 'channel_id', 'is required')
    : !nonEmpty(wsToken)
      ? problem('wsToken', 'ws_token', 'is required')
      : websocketUrl !== undefined && typeof websocketUrl !== 'string'
        ? problem('websocketUrl', 'websocket_url', 'must be a string')
        : websocketChannel !== undefined && typeof websocketChannel !== 'string'
          ? problem('websocketChannel', 'websocket_channel', 'must be a string')
          : { channelId, wsToken, websocketUrl, websocketChannel };
}
