/**
 * Loads `node:crypto` lazily, so that merely importing the webhooks entry works on runtimes
 * without it (browsers, Workers) and bundlers never see a static `node:crypto` import.
 * `process.getBuiltinModule` exists on Node ≥ 20.16, Bun and Deno.
 */
export type NodeCrypto = typeof import('node:crypto');

let cached: NodeCrypto | null | undefined;

/** `node:crypto`, or null when this runtime has none. */
export function loadNodeCrypto(): NodeCrypto | null {
  if (cached === undefined) {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    cached = (proc?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined) ?? null;
  }
  return cached;
}
