/** Command-line flags of the benchmarks: `--name value` pairs and bare switches. */

/** The argument after a flag, for the flag's handler to consume. */
export interface FlagValue {
  /** The argument as given ('' when there is none). */
  text(): string;
  /**
   * The argument as a finite number that `accept` takes (it also sees the text as given);
   * otherwise throws `<flag> needs <what>, got "<text>"`.
   */
  number(accept: (n: number, text: string) => boolean, what: string): number;
}

/**
 * Reads `argv` flag by flag into the matching handler (a handler that reads no value is a switch);
 * `--` is skipped, an unknown flag throws with `usage`.
 *
 * @example
 * ```ts
 * let seconds = 15;
 * let hubOnly = false;
 * readFlags(process.argv.slice(2), {
 *   '--seconds': (value) => (seconds = value.number((n) => n > 0, 'a positive number')),
 *   '--hub-only': () => (hubOnly = true),
 * }, '--seconds s --hub-only');
 * ```
 */
export function readFlags(argv: readonly string[], handlers: Record<string, (value: FlagValue) => void>, usage: string): void {
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i] as string;
    if (name === '--') continue;
    const handler = Object.hasOwn(handlers, name) ? handlers[name] : undefined;
    if (handler === undefined) throw new Error(`unknown flag ${name} (${usage})`);
    const text = argv[i + 1] ?? '';
    handler({
      text: () => {
        i++;
        return text;
      },
      number: (accept, what) => {
        const n = Number(text);
        if (!Number.isFinite(n) || !accept(n, text)) throw new Error(`${name} needs ${what}, got "${text}"`);
        i++;
        return n;
      },
    });
  }
}
