/**
 * Validation of server events (`status`, `tokens`, `tool_call`, `response`), and the
 * guards every reader of untrusted values (frames, replies, stored records) shares.
 *
 * This runs once per token, so it is hand-written and table-driven: typeof
 * checks, no schema library, and the payload object itself is returned (no copy)
 * unless it has to be normalised. Unknown extra fields are kept so a newer server
 * can add fields without older clients dropping its events.
 */
import type { ErrorBody, ServerEvent } from './protocol.js';

/** Outcome of a validation: the value, or a stable code and a message naming the field. */
export type ParseResult<T> =
  | { ok: true; value: T }
  | { ok: false; code: 'unknown_event' | 'invalid_payload'; message: string };

type Dict = Record<string, unknown>;

/**
 * How a field is checked: `s` string, `o` object, `n` non-negative integer,
 * `e` an error body, or the list of allowed strings.
 */
type Kind = 's' | 'o' | 'n' | 'e' | readonly string[];

/** `[field, kind, required]`, in the order fields are checked (the first bad one is named). */
type Spec = ReadonlyArray<readonly [field: string, kind: Kind, required?: 1]>;

const STRING: Kind = 's';
const OBJECT: Kind = 'o';
const COUNT: Kind = 'n';

const SPECS: ReadonlyMap<string, Spec> = new Map<string, Spec>([
  ['tokens', [['delta', STRING, 1]]],
  [
    'status',
    [
      ['status', ['queued', 'processing', 'failover', 'ai_generated', 'awaiting_callback'], 1],
      ['provider', STRING],
      ['model', STRING],
      ['reason', STRING],
      ['attempt', COUNT],
    ],
  ],
  [
    'tool_call',
    [
      ['index', COUNT, 1],
      ['arguments', STRING, 1],
      ['id', STRING],
      ['name', STRING],
    ],
  ],
  [
    'response',
    [
      ['status', ['success', 'error', 'cancelled', 'ai_generated', 'completed'], 1],
      ['channel_id', STRING, 1],
      ['meta', OBJECT],
      ['content', STRING],
      ['model', STRING],
      ['event_name', STRING],
      ['task_id', STRING],
      ['customer_data', OBJECT],
      ['callback_metadata', OBJECT],
      ['ai_response', OBJECT],
      ['error', 'e'],
    ],
  ],
]);

const KIND_TEXT = { s: 'a string', o: 'an object', n: 'a non-negative integer', e: '{code: string, message: string}' };

/**
 * A plain object (not null, not an array).
 *
 * @example
 * ```ts
 * isRecord({ status: 'ok' }); // true
 * isRecord([1]);              // false
 * ```
 */
export function isRecord(value: unknown): value is Dict {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A non-empty string (the wire treats `""` like absent).
 *
 * @example
 * ```ts
 * nonEmpty('tok'); // true
 * nonEmpty('');    // false
 * ```
 */
export const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value !== '';

/**
 * `error` in the contract's `{code, message}` shape; for compatibility with the
 * hosted service, `{message}` alone and a bare string are accepted with the code
 * `request_failed`. Returns null when the value is unusable.
 */
function normaliseError(v: unknown): ErrorBody | null {
  if (typeof v === 'string') return { code: 'request_failed', message: v };
  if (!isRecord(v) || typeof v.message !== 'string') return null;
  if (typeof v.code === 'string') return v as unknown as ErrorBody;
  return v.code == null ? { ...v, code: 'request_failed', message: v.message } : null;
}

/**
 * The payload of a valid event, or the message naming what is wrong. The
 * payload is returned as received (no allocation: the per-token hot path)
 * unless it needs normalising; see {@link parseServerEvent}. Never throws.
 *
 * @example
 * ```ts
 * checkServerEvent('tokens', { seq: 1, delta: 'a' }); // the same object
 * checkServerEvent('tokens', { seq: 1, delta: 5 });   // 'tokens.delta must be a string'
 * ```
 */
export function checkServerEvent(event: string, payload: unknown): Dict | string {
  try {
    // The per-token fast path: a plain, unmerged `tokens` payload is valid as is.
    if (
      event === 'tokens' &&
      isRecord(payload) &&
      typeof payload.delta === 'string' &&
      payload.first_seq === undefined &&
      Number.isSafeInteger(payload.seq) &&
      (payload.seq as number) >= 1
    ) {
      return payload;
    }
    const spec = SPECS.get(event);
    if (spec === undefined) return `unknown event ${JSON.stringify(String(event).slice(0, 64))}`;
    if (!isRecord(payload)) return `${event} payload must be an object`;
    const seq = payload.seq;
    if (!(Number.isSafeInteger(seq) && (seq as number) >= 1)) return `${event}.seq must be a positive integer`;
    // Keys read as absent (null) or replaced (an error body) in the returned copy.
    let patch: Dict | null = null;
    for (const [field, kind, required] of spec) {
      const v = payload[field];
      if (v == null) {
        // Optional fields are absent as `undefined` or, as Elixir's `nil` encodes them, `null`.
        if (required) return `${event}.${field} must be ${typeof kind === 'string' ? KIND_TEXT[kind] : `one of ${kind.join(', ')}`}`;
        if (v === null) (patch ??= {})[field] = undefined;
        continue;
      }
      let value: unknown = v;
      const ok =
        kind === 's'
          ? typeof v === 'string'
          : kind === 'o'
            ? isRecord(v)
            : kind === 'n'
              ? Number.isSafeInteger(v) && (v as number) >= 0
              : kind === 'e'
                ? (value = normaliseError(v)) !== null
                : kind.includes(v as string);
      if (!ok) return `${event}.${field} must be ${typeof kind === 'string' ? KIND_TEXT[kind] : `one of ${kind.join(', ')}`}`;
      if (value !== v) (patch ??= {})[field] = value;
    }
    const first = payload.first_seq;
    if (event === 'tokens') {
      if (first === null) patch = { first_seq: undefined };
      else if (first !== undefined && !(Number.isSafeInteger(first) && (first as number) >= 1 && (first as number) <= (seq as number))) {
        return 'tokens.first_seq must be a positive integer not greater than seq';
      }
    } else if (first !== undefined) {
      // `first_seq` marks a merged `tokens` frame; a stray one must not make another event look like a range.
      (patch ??= {}).first_seq = undefined;
    }
    // The hosted service may omit `meta`; `{}` keeps `payload.meta.x` safe for callers.
    if (event === 'response' && payload.meta == null) (patch ??= {}).meta = {};
    if (patch === null) return payload;
    const copy: Dict = { ...payload };
    for (const key in patch) {
      if (patch[key] === undefined) delete copy[key];
      else copy[key] = patch[key];
    }
    return copy;
  } catch {
    // A getter or proxy that throws: the payload is unusable, but the caller must not crash.
    return `${String(event).slice(0, 64)} payload could not be read`;
  }
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
  const r = checkServerEvent(event, payload);
  return typeof r === 'string'
    ? { ok: false, code: rejectionCode(event), message: r }
    : { ok: true, value: { event, payload: r } as unknown as ServerEvent };
}

/**
 * The `protocol_error` code of an event {@link checkServerEvent} refused: its name is
 * unknown, or its payload is invalid.
 *
 * @example
 * ```ts
 * rejectionCode('tokens'); // 'invalid_payload'
 * rejectionCode('tokenz'); // 'unknown_event'
 * ```
 */
export function rejectionCode(event: string): 'invalid_payload' | 'unknown_event' {
  return SPECS.has(event) ? 'invalid_payload' : 'unknown_event';
}
