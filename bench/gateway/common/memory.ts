import { setImmediate as tick } from 'node:timers/promises';

/**
 * `process.memoryUsage()` after a few forced GCs (when the process runs with `--expose-gc`), so
 * that garbage does not count as memory held per socket.
 *
 * @example
 * ```ts
 * const { rss, heapUsed } = await settledMemoryUsage();
 * ```
 */
export async function settledMemoryUsage(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 4; i++) {
    gc?.();
    await tick();
  }
  return process.memoryUsage();
}

/** The orchestrator asks a child for its memory ({@link MemoryReply}). */
export interface MemoryRequest {
  type: 'memory';
}

/** A child's memory as it reports it to the orchestrator. */
export interface MemoryReply {
  type: 'memory';
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Sockets the process holds open (what the memory is divided by). */
  sockets: number;
}

/**
 * {@link settledMemoryUsage} as a reply, with the number of sockets read after the GCs.
 *
 * @example
 * ```ts
 * const reply = await memoryReply(() => hub.stats().sockets);
 * ```
 */
export async function memoryReply(sockets: () => number): Promise<MemoryReply> {
  const usage = await settledMemoryUsage();
  return { type: 'memory', rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, arrayBuffers: usage.arrayBuffers, sockets: sockets() };
}
