/**
 * Redis's `INFO commandstats`: calls per command since the server started. It counts every command
 * the server ran, those a Lua script ran included.
 */

/** Calls per command name (`evalsha`, `client|setname`, …). */
export type CommandCalls = Map<string, number>;

/**
 * Reads the `calls` of each `cmdstat_*` line.
 *
 * @example
 * ```ts
 * parseCommandStats('cmdstat_get:calls=3,usec=5,usec_per_call=1.67'); // Map { 'get' => 3 }
 * ```
 */
export function parseCommandStats(info: string): CommandCalls {
  const calls: CommandCalls = new Map();
  for (const line of info.split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (match) calls.set(match[1] as string, Number(match[2]));
  }
  return calls;
}

/**
 * `after - before`, per command, leaving out the commands that ran no more often.
 *
 * @example
 * ```ts
 * diffCalls(new Map([['get', 3]]), new Map([['get', 5], ['set', 1]])); // Map { 'get' => 2, 'set' => 1 }
 * ```
 */
export function diffCalls(before: CommandCalls, after: CommandCalls): CommandCalls {
  const diff: CommandCalls = new Map();
  for (const [name, count] of after) {
    const delta = count - (before.get(name) ?? 0);
    if (delta > 0) diff.set(name, delta);
  }
  return diff;
}

/**
 * The sum of the calls.
 *
 * @example
 * ```ts
 * totalCalls(new Map([['get', 2], ['set', 1]])); // 3
 * ```
 */
export function totalCalls(calls: CommandCalls | Record<string, number>): number {
  let total = 0;
  for (const count of calls instanceof Map ? calls.values() : Object.values(calls)) total += count;
  return total;
}
