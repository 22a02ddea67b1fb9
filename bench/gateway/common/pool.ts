/**
 * Runs `run` over `items` with at most `concurrency` of them in flight, in order of start.
 *
 * @example
 * ```ts
 * await runPool(tickets, 64, async (ticket) => {
 *   await joinChannel(url, ticket, onFrame);
 * });
 * ```
 */
export async function runPool<T>(items: readonly T[], concurrency: number, run: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await run(items[index] as T, index);
      }
    }),
  );
}
