/**
 * A Markdown table of `rows` (the first is the header), each column as wide as its widest cell.
 *
 * @example
 * ```ts
 * console.log(table([['mode', 'p99 ms'], ['hub', '4.2']]));
 * // | mode | p99 ms |
 * // |------|--------|
 * // | hub  | 4.2    |
 * ```
 */
export function table(rows: string[][]): string {
  const header = rows[0] ?? [];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => cell.padEnd(widths[c] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}
