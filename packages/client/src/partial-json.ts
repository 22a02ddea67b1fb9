/**
 * An incremental parser for JSON that is still arriving: structured output streamed as
 * tokens, a tool call's arguments streamed as deltas. It keeps a state machine over the
 * input, so a chunk costs time in proportion to its own length, never to the text so far,
 * and it never throws: malformed input marks it `failed` and the last good value stays.
 *
 * What a partial value holds, so that it never contradicts the final one:
 * - an object holds the keys whose value has started; an array, the elements that have;
 * - a string being streamed is a prefix of the final string (an escape shows once whole);
 * - `true`/`false`/`null` show once spelled out; a number once the character after it
 *   arrives (until then `12` could still become `123`).
 *
 * Values are immutable once returned by `value()`: the containers still open are copied
 * when they changed since the last call (copy on write along the open path), the closed
 * ones are shared, so `===` tells what changed and a call costs the open containers' width,
 * not the document's size.
 */

/** An incremental JSON parser; see {@link createPartialJson}. */
export interface PartialJson {
  /** Consumes the next piece of the text; cost in proportion to `chunk`. */
  feed(chunk: string): void;
  /** The value so far: `undefined` before any, the same object while nothing changed. */
  value(): unknown;
  /** A whole value was parsed (anything after it but whitespace fails it). */
  readonly done: boolean;
  /** The text is not valid JSON; `value()` keeps what was parsed before the fault. */
  readonly failed: boolean;
  /** Characters consumed. */
  readonly length: number;
}

/** An open container: its working copy, the copy last published, and what is being filled in. */
interface Frame {
  /** Working copy, changed in place; never handed out while the container is open. */
  v: Record<string, unknown> | unknown[];
  a: boolean;
  /** The key of the value being parsed (objects). */
  k: string;
  pub: unknown;
  _dirty: boolean;
}

// Parser states.
const VALUE = 0;
const FIRST_KEY = 1; // after `{`: a key or `}`
const KEY = 2; // after `,` in an object
const COLON = 3;
const AFTER = 4; // after a value: `,`, a closing bracket, or (top level) whitespace only
const STRING = 5;
const NUMBER = 6;
const WORD = 7; // true, false, null
const FIRST_ITEM = 8; // after `[`: a value or `]`
const FAILED = 9;

const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const WORDS: Record<string, [string, unknown]> = { t: ['true', true], f: ['false', false], n: ['null', null] };
const NUMBER_CHARS = /[\d.eE+-]/;
const NUMBER_SYNTAX = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function assign(target: Frame['v'], key: string | number, value: unknown): void {
  // A `__proto__` key is data, as JSON.parse makes it, never the object's prototype.
  if (key === '__proto__') Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else (target as Record<string, unknown>)[key] = value;
}

/**
 * A new incremental JSON parser. With `containersOnly`, a text whose first value is not
 * an object or an array fails at once (structured output is detected that way).
 *
 * @example
 * ```ts
 * const json = createPartialJson();
 * json.feed('{"reply":"Hel');
 * json.value(); // { reply: 'Hel' }
 * json.feed('lo","n":4');
 * json.value(); // { reply: 'Hello' } (4 shows once the next character arrives)
 * json.feed('}');
 * json.value(); // { reply: 'Hello', n: 4 }; json.done === true
 * ```
 */
export function createPartialJson(containersOnly = false): PartialJson {
  const stack: Frame[] = [];
  let state = VALUE;
  let root: unknown;
  let pub: unknown;
  let changed = false;
  let consumed = 0;
  let done = false;
  // The string, number or word being read, and its role.
  let buf = '';
  let isKey = false;
  /** While in a string: 0, or 1 after a backslash, or 2 + the hex digits of a `\u` escape read so far. */
  let esc = 0;
  let hex = '';
  let word: [string, unknown] = ['', null];

  /** Puts a value in the open container (or at the root); `fresh` adds an array element. */
  const put = (value: unknown, fresh: boolean): void => {
    const f = stack[stack.length - 1];
    changed = true;
    if (f === undefined) root = value;
    else {
      f._dirty = true;
      if (!f.a) assign(f.v, f.k, value);
      else if (fresh) (f.v as unknown[]).push(value);
      else (f.v as unknown[])[(f.v as unknown[]).length - 1] = value;
    }
  };
  /** A value ended: what may follow depends on the container (or the top level). */
  const ended = (): void => {
    state = AFTER;
    if (stack.length === 0) done = true;
  };

  /** Handles `c` at `chunk[i]`; returns how many characters it consumed (0: look at `c` again). */
  const step = (chunk: string, i: number): number => {
    const c = chunk[i] as string;
    switch (state) {
      case STRING: {
        if (esc === 1) {
          esc = 0;
          if (c === 'u') esc = 2;
          else if (ESCAPES[c] !== undefined) buf += ESCAPES[c];
          else return fail();
        } else if (esc >= 2) {
          if (!/[\da-fA-F]/.test(c)) return fail();
          hex += c;
          if (hex.length < 4) return 1;
          buf += String.fromCharCode(parseInt(hex, 16));
          hex = '';
          esc = 0;
        } else if (c === '"') {
          if (isKey) {
            (stack[stack.length - 1] as Frame).k = buf;
            state = COLON;
          } else {
            put(buf, false);
            ended();
          }
          return 1;
        } else if (c === '\\') {
          esc = 1;
          return 1;
        } else {
          // The run of plain characters up to the next quote, backslash or control character.
          let j = i;
          while (j < chunk.length && chunk[j] !== '"' && chunk[j] !== '\\' && (chunk[j] as string) >= ' ') j++;
          if (j === i) return fail();
          buf += chunk.slice(i, j);
          if (!isKey) put(buf, false);
          return j - i;
        }
        if (!isKey) put(buf, false);
        return 1;
      }
      case NUMBER:
        if (NUMBER_CHARS.test(c)) {
          buf += c;
          return 1;
        }
        if (!NUMBER_SYNTAX.test(buf)) return fail();
        put(Number(buf), true);
        ended();
        return 0;
      case WORD:
        if (c !== word[0][buf.length]) return fail();
        buf += c;
        if (buf.length === word[0].length) {
          put(word[1], true);
          ended();
        }
        return 1;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') return 1;
    const top = stack[stack.length - 1];
    switch (state) {
      case FIRST_ITEM:
      case FIRST_KEY:
        if (c === (state === FIRST_ITEM ? ']' : '}')) return close();
        if (state === FIRST_ITEM) return (state = VALUE), 0;
      // falls through: the first key
      case KEY:
        if (c !== '"') return fail();
        state = STRING;
        isKey = true;
        buf = '';
        return 1;
      case COLON:
        if (c !== ':') return fail();
        state = VALUE;
        return 1;
      case AFTER:
        if (top === undefined) return fail();
        if (c === ',') {
          state = top.a ? VALUE : KEY;
          return 1;
        }
        if (c === (top.a ? ']' : '}')) return close();
        return fail();
      case VALUE: {
        // VALUE with nothing open is only ever the first value.
        if (containersOnly && stack.length === 0 && c !== '{' && c !== '[') return fail();
        if (c === '{' || c === '[') {
          const a = c === '[';
          const v: Frame['v'] = a ? [] : {};
          put(v, true);
          stack.push({ v, a, k: '', pub: undefined, _dirty: true });
          state = a ? FIRST_ITEM : FIRST_KEY;
          return 1;
        }
        buf = '';
        if (c === '"') {
          isKey = false;
          state = STRING;
          put('', true);
          return 1;
        }
        if (c === '-' || (c >= '0' && c <= '9')) {
          state = NUMBER;
          return 0;
        }
        const w = WORDS[c];
        if (w === undefined) return fail();
        word = w;
        state = WORD;
        return 0;
      }
    }
    return fail();
  };
  const close = (): number => {
    stack.pop();
    // The parent's slot now holds the finished container itself: the parent changed.
    const parent = stack[stack.length - 1];
    if (parent !== undefined) parent._dirty = true;
    changed = true;
    ended();
    return 1;
  };
  const fail = (): number => {
    state = FAILED;
    done = false;
    return 1;
  };

  return {
    feed(chunk) {
      if (typeof chunk !== 'string') return;
      let i = 0;
      while (i < chunk.length && state !== FAILED) i += step(chunk, i);
      consumed += chunk.length;
    },
    value() {
      if (!changed) return pub;
      changed = false;
      // Copy, innermost first, each open container that changed or whose open child was copied.
      let child: unknown;
      let copied = false;
      for (let d = stack.length - 1; d >= 0; d--) {
        const f = stack[d] as Frame;
        if (f._dirty || copied) {
          const copy = f.a ? (f.v as unknown[]).slice() : { ...f.v };
          // The open child's slot holds its working copy: hand out its published one instead.
          if (d < stack.length - 1) assign(copy, f.a ? (copy as unknown[]).length - 1 : f.k, child);
          f.pub = copy;
          f._dirty = false;
          copied = true;
        }
        child = f.pub;
      }
      pub = stack.length > 0 ? child : root;
      return pub;
    },
    get done() {
      return done;
    },
    get failed() {
      return state === FAILED;
    },
    get length() {
      return consumed;
    },
  };
}
