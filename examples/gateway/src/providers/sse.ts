/** Server-Sent Events decoding for streamed provider answers. */
import { ProviderError } from './provider.js';

/** A line longer than this without a line break is not SSE; stop buffering rather than grow forever. */
const MAX_SSE_LINE_CHARS = 8 * 1024 * 1024;

/**
 * Incremental Server-Sent Events decoder: feed it text as it arrives (any split, including
 * between `\r` and `\n`) and get back the `data` of every completed event. Comments, `event:`,
 * `id:` and `retry:` lines are ignored; multi-line `data` is joined with `\n`.
 *
 * @example
 * ```ts
 * const sse = new SseDecoder();
 * sse.push('data: {"a"'); // []
 * sse.push(':1}\r\n\r\n'); // ['{"a":1}']
 * sse.end(); // [] (flushes an unterminated last event, if any)
 * ```
 */
export class SseDecoder {
  private rest = '';
  private data: string[] = [];
  /** The previous chunk ended with `\r`: a `\n` starting the next one belongs to it. */
  private skipLeadingLF = false;

  /** Feeds decoded text; returns the data of the events it completed. */
  push(text: string): string[] {
    if (text.length === 0) return [];
    let s = this.rest + text;
    this.rest = '';
    if (this.skipLeadingLF && s.startsWith('\n')) s = s.slice(1);
    this.skipLeadingLF = false;
    const events: string[] = [];
    const eol = /\r\n|\r|\n/g;
    let pos = 0;
    for (let m = eol.exec(s); m !== null; m = eol.exec(s)) {
      if (m[0] === '\r' && m.index === s.length - 1) this.skipLeadingLF = true;
      this.line(s.slice(pos, m.index), events);
      pos = m.index + m[0].length;
    }
    this.rest = s.slice(pos);
    if (this.rest.length > MAX_SSE_LINE_CHARS) {
      throw new ProviderError('provider_bad_response', `SSE line longer than ${MAX_SSE_LINE_CHARS} characters`);
    }
    return events;
  }

  /**
   * Ends the stream. An event not closed by a blank line is still returned: some servers omit
   * the final blank line after `data: [DONE]`, and dropping it would lose data.
   */
  end(): string[] {
    const events: string[] = [];
    if (this.rest.length > 0) this.line(this.rest, events);
    this.rest = '';
    this.line('', events);
    return events;
  }

  private line(line: string, events: string[]): void {
    if (line.length === 0) {
      if (this.data.length > 0) events.push(this.data.join('\n'));
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    if (field !== 'data') return;
    const value = colon < 0 ? '' : line.slice(colon + 1);
    this.data.push(value.startsWith(' ') ? value.slice(1) : value);
  }
}
