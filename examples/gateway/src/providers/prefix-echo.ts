/** Mid-stream failover: the continuing provider must not repeat the text already sent. */
/** Sent after the prefix so the model continues it instead of starting over. */
export const CONTINUE_INSTRUCTION =
  'Your previous reply was cut off. Continue it exactly where it stopped, even mid-word or mid-sentence. ' +
  'Do not repeat any text already written and add no preamble or commentary: output only the continuation.';

/** Shortest tail of the prefix whose repetition at the start of the output counts as an echo. */
const MIN_TAIL_ECHO_CHARS = 16;

/** Removes an echoed prefix from the start of a continuation. */
export interface PrefixEchoFilter {
  /** Returns the text that can be passed on now (possibly empty while undecided). */
  push(text: string): string;
  /** The stream ended: returns whatever was held back. */
  flush(): string;
}

/**
 * Models asked to continue a text sometimes start by repeating it, wholly or its last words.
 * The filter holds the output back while it still reads like such a repetition, and drops the
 * repeated part once that is certain: either the whole prefix, or a tail of it at least 16
 * characters long (shorter tails are too likely to be a real continuation).
 *
 * @example
 * ```ts
 * const echo = createPrefixEchoFilter('The quick brown fox');
 * echo.push('The quick '); // '' (could be an echo)
 * echo.push('brown fox jumps'); // ' jumps'
 * echo.flush(); // ''
 * ```
 */
export function createPrefixEchoFilter(prefix: string, minTail = MIN_TAIL_ECHO_CHARS): PrefixEchoFilter {
  let deciding = prefix.length > 0;
  let held = '';
  // Start offsets in `prefix` of the suffixes the output may still be repeating.
  let alive: number[] | undefined;
  // Length of the longest suffix the output has repeated in full so far.
  let matched = 0;

  const decide = (): string => {
    const out = held.slice(matched);
    deciding = false;
    held = '';
    alive = [];
    return out;
  };

  return {
    push(text) {
      if (!deciding) return text;
      if (text.length === 0) return '';
      if (alive === undefined) {
        alive = [];
        for (let k = 0; k < prefix.length; k++) {
          if ((k === 0 || prefix.length - k >= minTail) && prefix.charCodeAt(k) === text.charCodeAt(0)) alive.push(k);
        }
      }
      const before = held.length;
      held += text;
      const next: number[] = [];
      for (const k of alive) {
        const suffixLength = prefix.length - k;
        const compared = Math.min(suffixLength, held.length) - before;
        if (prefix.startsWith(text.slice(0, compared), k + before)) {
          if (held.length >= suffixLength) matched = Math.max(matched, suffixLength);
          else next.push(k);
        }
      }
      alive = next;
      // Still possibly repeating a longer suffix than the one matched: keep holding.
      return alive.length > 0 ? '' : decide();
    },
    flush() {
      return deciding ? decide() : '';
    },
  };
}
