/**
 * Validation of server events (`status`, `tokens`, `tool_call`, `response`).
 *
 * This runs once per token, so it is hand-written: typeof checks, no schema
 * library, and the payload object itself is returned (no copy) unless it has
 * to be normalised. Unknown extra fields are kept so a newer server can add
 * fields without older clients dropping its events.
 */
import type {
  ErrorBody,
  ResponsePayload,
  ResponseStatus,
  ServerEvent,
  StatusPayload,
  StatusValue,
  TokensPayload,
  ToolCallPayload,
} from './protocol.js';

/** Outcome of a validation: the value, or a stable code and a message naming the field. */
export type ParseResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: 'unknown_event' | 'invalid_payload'; message: string };

type Dict = Record<string, unknown>;

/** Optional fields are absent as `undefined` or, as Elixir's `nil` encodes them, `null`. */
function isAbsent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

function isObject(v: unknown): v is Dict {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

const STATUS_VALUES: ReadonlySet<string> = new Set<StatusValue>([
  'queued',
  'processing',
  'failover',
  'ai_generated',
  'awaiting_callback',
]);

const RESPONSE_STATUSES: ReadonlySet<string> = new Set<ResponseStatus>([
  'success',
  'error',
  'cancelled',
  'ai_generated',
  'completed',
]);

function invalid(message: string): ParseResult<never> {
  return { ok: false, code: 'invalid_payload', message };
}

/** Returns the message naming the first bad field, or null when `keys` are all absent or strings. */
function checkOptionalStrings(p: Dict, event: string, keys: readonly string[]): string | null {
  for (const key of keys) {
    const v = p[key];
    if (!isAbsent(v) && typeof v !== 'string') return `${event}.${key} must be a string`;
  }
  return null;
}

/** True when any of `keys` is present as `null`, so the payload needs a normalising copy. */
function hasNull(p: Dict, keys: readonly string[]): boolean {
  for (const key of keys) if (p[key] === null) return true;
  return false;
}

/** Shallow copy of `p` without the keys whose value is `null`. */
function withoutNulls(p: Dict, keys: readonly string[]): Dict {
  const copy: Dict = { ...p };
  for (const key of keys) if (copy[key] === null) delete copy[key];
  return copy;
}

function withoutKey(p: Dict, key: string): Dict {
  const copy: Dict = { ...p };
  delete copy[key];
  return copy;
}

function parseTokens(p: Dict): ParseResult<ServerEvent> {
  if (typeof p.delta !== 'string') return invalid('tokens.delta must be a string');
  const first = p.first_seq;
  if (first !== undefined) {
    if (first === null) {
      return { ok: true, value: { event: 'tokens', payload: withoutNulls(p, ['first_seq']) as unknown as TokensPayload } };
    }
    if (!isPositiveInt(first) || first > (p.seq as number)) {
      return invalid('tokens.first_seq must be a positive integer not greater than seq');
    }
  }
  // The hot path: the payload is returned as is, without a copy.
  return { ok: true, value: { event: 'tokens', payload: p as unknown as TokensPayload } };
}

const STATUS_STRINGS = ['provider', 'model', 'reason'] as const;
const STATUS_OPTIONALS = ['provider', 'model', 'reason', 'attempt'] as const;

function parseStatus(p: Dict): ParseResult<ServerEvent> {
  if (typeof p.status !== 'string' || !STATUS_VALUES.has(p.status)) {
    return invalid('status.status must be one of queued, processing, failover, ai_generated, awaiting_callback');
  }
  const bad = checkOptionalStrings(p, 'status', STATUS_STRINGS);
  if (bad !== null) return invalid(bad);
  if (!isAbsent(p.attempt) && !isNonNegativeInt(p.attempt)) {
    return invalid('status.attempt must be a non-negative integer');
  }
  const payload = hasNull(p, STATUS_OPTIONALS) ? withoutNulls(p, STATUS_OPTIONALS) : p;
  return { ok: true, value: { event: 'status', payload: payload as unknown as StatusPayload } };
}

const TOOL_CALL_OPTIONALS = ['id', 'name'] as const;

function parseToolCall(p: Dict): ParseResult<ServerEvent> {
  if (!isNonNegativeInt(p.index)) return invalid('tool_call.index must be a non-negative integer');
  if (typeof p.arguments !== 'string') return invalid('tool_call.arguments must be a string');
  const bad = checkOptionalStrings(p, 'tool_call', TOOL_CALL_OPTIONALS);
  if (bad !== null) return invalid(bad);
  const payload = hasNull(p, TOOL_CALL_OPTIONALS) ? withoutNulls(p, TOOL_CALL_OPTIONALS) : p;
  return { ok: true, value: { event: 'tool_call', payload: payload as unknown as ToolCallPayload } };
}

const RESPONSE_STRINGS = ['content', 'model', 'event_name', 'task_id'] as const;
const RESPONSE_OBJECTS = ['customer_data', 'callback_metadata', 'ai_response'] as const;
const RESPONSE_OPTIONALS = [...RESPONSE_STRINGS, ...RESPONSE_OBJECTS, 'error'] as const;

/**
 * `error` in the contract's `{code, message}` shape; for compatibility with the
 * hosted service, `{message}` alone and a bare string are accepted with the code
 * `request_failed`. Returns null when the value is unusable.
 */
function normaliseError(v: unknown): ErrorBody | null {
  if (typeof v === 'string') return { code: 'request_failed', message: v };
  if (!isObject(v) || typeof v.message !== 'string') return null;
  if (typeof v.code === 'string') return v as unknown as ErrorBody;
  if (isAbsent(v.code)) return { ...v, code: 'request_failed', message: v.message };
  return null;
}

function parseResponse(p: Dict): ParseResult<ServerEvent> {
  if (typeof p.status !== 'string' || !RESPONSE_STATUSES.has(p.status)) {
    return invalid('response.status must be one of success, error, cancelled, ai_generated, completed');
  }
  if (typeof p.channel_id !== 'string') return invalid('response.channel_id must be a string');
  const meta = p.meta;
  if (!isAbsent(meta) && !isObject(meta)) return invalid('response.meta must be an object');
  const bad = checkOptionalStrings(p, 'response', RESPONSE_STRINGS);
  if (bad !== null) return invalid(bad);
  for (const key of RESPONSE_OBJECTS) {
    const v = p[key];
    if (!isAbsent(v) && !isObject(v)) return invalid(`response.${key} must be an object`);
  }
  let error: ErrorBody | null = null;
  if (!isAbsent(p.error)) {
    error = normaliseError(p.error);
    if (error === null) return invalid('response.error must be {code: string, message: string}');
  }
  // A response arrives once per request, so normalising it with a copy costs nothing.
  const needsCopy = isAbsent(meta) || hasNull(p, RESPONSE_OPTIONALS) || (error !== null && error !== p.error);
  if (!needsCopy) return { ok: true, value: { event: 'response', payload: p as unknown as ResponsePayload } };
  const copy = withoutNulls(p, RESPONSE_OPTIONALS);
  // The hosted service may omit `meta`; `{}` keeps `payload.meta.x` safe for callers.
  if (isAbsent(meta)) copy.meta = {};
  if (error !== null) copy.error = error;
  return { ok: true, value: { event: 'response', payload: copy as unknown as ResponsePayload } };
}

/**
 * Validates a channel event by name (`status`, `tokens`, `tool_call`, `response`).
 * Never throws, whatever `payload` is: a bad payload gives `invalid_payload` with
 * a message naming the field, an unknown name gives `unknown_event`.
 *
 * Optional fields may be `null` (read as absent, and removed from the returned
 * payload); a `response` without `meta` gets `meta: {}`; a `response.error`
 * without `code` gets `code: 'request_failed'`; `first_seq` is removed from
 * events other than `tokens` (only a merged tokens frame is a range). Everything
 * else is returned as received, unknown fields included.
 *
 * @example
 * ```ts
 * const result = parseServerEvent('tokens', { seq: 3, delta: 'Hel' });
 * if (result.ok) console.log(result.value.event, result.value.payload);
 * else console.warn(result.code, result.message); // e.g. "tokens.delta must be a string"
 * ```
 */
export function parseServerEvent(event: string, payload: unknown): ParseResult<ServerEvent> {
  try {
    if (event !== 'tokens' && event !== 'status' && event !== 'tool_call' && event !== 'response') {
      return {
        ok: false,
        code: 'unknown_event',
        message: `unknown event ${typeof event === 'string' ? JSON.stringify(event.slice(0, 64)) : typeof event}`,
      };
    }
    if (!isObject(payload)) return invalid(`${event} payload must be an object`);
    if (!isPositiveInt(payload.seq)) return invalid(`${event}.seq must be a positive integer`);
    if (event === 'tokens') return parseTokens(payload);
    // `first_seq` marks a merged `tokens` frame. Callers pass any payload to classifySeq,
    // so a stray one on another event must not make it look like a range.
    const p = payload.first_seq === undefined ? payload : withoutKey(payload, 'first_seq');
    if (event === 'status') return parseStatus(p);
    if (event === 'tool_call') return parseToolCall(p);
    return parseResponse(p);
  } catch {
    // A getter or proxy that throws: the payload is unusable, but the caller must not crash.
    return invalid(`${typeof event === 'string' ? event.slice(0, 64) : 'event'} payload could not be read`);
  }
}
