/**
 * The time a token was due, written into its delta (`t=<ms>;`) by the publishing process and read
 * back by the clients: receipt minus that is the delivery latency (one machine, one clock).
 */
import { wallNow } from './clock.js';

const STAMP = /t=(\d+(?:\.\d+)?);/g;

/**
 * A token stamped with the time it was due. The publisher passes the time the token was due, not
 * the time the (possibly busy) event loop got round to it: a real provider's token waits in the
 * loop too, and that wait is part of the delay the client sees.
 *
 * @example
 * ```ts
 * stampToken(1700000000000.123); // 't=1700000000000.123;lorem '
 * ```
 */
export function stampToken(dueAt: number = wallNow()): string {
  return `t=${dueAt.toFixed(3)};lorem `;
}

/**
 * Calls `each` with the due time of every token stamped in `text` (one frame may carry several,
 * merged). A callback rather than an array: this runs for every frame the clients receive.
 *
 * @example
 * ```ts
 * forEachStamp('{"delta":"t=5.000;lorem t=6.000;lorem "}', (dueAt) => console.log(dueAt)); // 5, then 6
 * ```
 */
export function forEachStamp(text: string, each: (dueAt: number) => void): void {
  for (const match of text.matchAll(STAMP)) each(Number(match[1]));
}
