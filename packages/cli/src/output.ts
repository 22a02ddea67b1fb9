/**
 * Everything the CLI writes goes through one {@link Output}: human lines (coloured only on a TTY
 * and without NO_COLOR) or, with `--json`, one JSON object per line on stdout.
 */
import type { CliError } from './errors.js';

/** Where output goes and what the terminal supports; injected so tests read it line by line. */
export interface OutputStreams {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stdout is a terminal (colours and inline token streaming make sense). */
  isTTY: boolean;
  env: Record<string, string | undefined>;
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1 } as const;

/** A colour name of {@link Output.paint}. */
export type Colour = keyof typeof CODES;

/**
 * Formats and writes the CLI's output.
 *
 * @example
 * ```ts
 * const out = new Output({ stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), isTTY: true, env: process.env }, { json: false });
 * out.record({ type: 'delivery', status: 200 }, `${out.paint('green', '200')} task.completed`);
 * ```
 */
export class Output {
  readonly json: boolean;
  readonly colour: boolean;
  /** True while a human token line is open (the next status line must start on a new line). */
  private midLine = false;

  constructor(
    private readonly streams: OutputStreams,
    options: { json: boolean; colour?: boolean },
  ) {
    this.json = options.json;
    const noColour = streams.env['NO_COLOR'] !== undefined && streams.env['NO_COLOR'] !== '';
    this.colour = !options.json && options.colour !== false && streams.isTTY && !noColour;
  }

  /** Wraps `text` in an ANSI colour when colours are on. */
  paint(colour: Colour, text: string): string {
    return this.colour ? `\u001b[${CODES[colour]}m${text}\u001b[0m` : text;
  }

  /** One record: its JSON line with `--json`, otherwise the human line (none when `human` is null). */
  record(object: Record<string, unknown>, human: string | null): void {
    if (this.json) {
      this.write(`${JSON.stringify(object)}\n`);
      return;
    }
    if (human !== null) this.write(`${human}\n`);
  }

  /** Human-only text without a newline (streamed tokens); ignored with `--json`. */
  inline(text: string): void {
    if (this.json || text === '') return;
    this.streams.stdout(text);
    this.midLine = !text.endsWith('\n');
  }

  /** Human-only informational line on stderr (progress, hints); ignored with `--json`. */
  note(text: string): void {
    if (!this.json) this.streams.stderr(`${text}\n`);
  }

  /** The one line of a failure, on stderr (a JSON object with `--json`). */
  fail(error: CliError): void {
    this.endLine();
    if (this.json) this.streams.stderr(`${JSON.stringify({ type: 'error', code: error.code, message: error.message })}\n`);
    else this.streams.stderr(`${this.paint('red', 'error')} ${error.message}\n`);
  }

  /** Closes an open token line. */
  endLine(): void {
    if (this.midLine) {
      this.streams.stdout('\n');
      this.midLine = false;
    }
  }

  private write(text: string): void {
    this.endLine();
    this.streams.stdout(text);
  }
}

/**
 * Milliseconds for people: `840 ms`, `1.2 s`.
 *
 * @example
 * ```ts
 * formatMs(1234); // '1.2 s'
 * ```
 */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
