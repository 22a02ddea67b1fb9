/** Time and CPU readings that the benchmarks' processes compare with each other. */

/**
 * `performance.timeOrigin + performance.now()`: comparable across processes on one machine, so a
 * client can subtract the time a gateway process stamped into a token.
 *
 * @example
 * ```ts
 * const from = wallNow();
 * ```
 */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * user + system CPU this process used since `since` (from `process.cpuUsage`), in ms.
 *
 * @example
 * ```ts
 * const since = process.cpuUsage();
 * // … work …
 * cpuMsSince(since); // e.g. 812.5
 * ```
 */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/**
 * Share of one core this process used since `since` / `sinceWall`, in percent.
 *
 * @example
 * ```ts
 * const since = process.cpuUsage();
 * const sinceWall = wallNow();
 * // … work …
 * cpuPercent(since, sinceWall); // e.g. 63.2
 * ```
 */
export function cpuPercent(since: NodeJS.CpuUsage, sinceWall: number): number {
  const elapsedMs = wallNow() - sinceWall;
  return elapsedMs <= 0 ? 0 : (cpuMsSince(since) / elapsedMs) * 100;
}
