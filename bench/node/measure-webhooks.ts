/**
 * How the size of `@modelriver/node/webhooks` is measured, shared by `size.ts` (the benchmark,
 * from the built packages) and `packages/node/src/webhooks/bundle.test.ts` (the budget, from the
 * sources), so both use the same settings: esbuild, platform browser, minified ESM, ES2022, then
 * gzip level 9 with `node:zlib`.
 */
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';

/**
 * min+gzip bytes. 3 KB was the goal; the one error family adds its root class,
 * `ModelRiverError` (from `@modelriver/client/errors`, about 250 B), so the budget is the
 * measured size of the largest case below rounded up to the next 64 B (packages/node/README.md).
 */
export const WEBHOOKS_BUDGET_GZIP_BYTES = 3_328;

/** What apps import, smallest to largest. */
export const WEBHOOKS_CASES: ReadonlyArray<readonly [label: string, code: string]> = [
  ['verifyWebhook', `import { verifyWebhook } from '@modelriver/node/webhooks'; globalThis.v = verifyWebhook;`],
  ['verifyWebhookAsync', `import { verifyWebhookAsync } from '@modelriver/node/webhooks'; globalThis.v = verifyWebhookAsync;`],
  [
    'verifyWebhook + verifyWebhookAsync + WebhookVerificationError',
    `import { verifyWebhook, verifyWebhookAsync, WebhookVerificationError } from '@modelriver/node/webhooks'; globalThis.v = [verifyWebhook, verifyWebhookAsync, WebhookVerificationError];`,
  ],
];

/** Size of one bundle. */
export interface WebhooksBundleSize {
  /** Minified bytes. */
  min: number;
  /** Minified, then gzip -9, bytes. */
  gzip: number;
  /** Bytes each input contributes to the minified output (inputs that contribute none left out), largest first. */
  inputs: Array<[path: string, bytes: number]>;
}

/**
 * Bundles `code` (an entry module's source) and measures it. `aliases` says what
 * `@modelriver/node/webhooks` (and, from the sources, `@modelriver/client/errors`) resolve to;
 * anything not aliased resolves from `resolveDir` as an installed package would.
 *
 * @example
 * ```ts
 * const size = await measureWebhooks(WEBHOOKS_CASES[0][1], { resolveDir: nodeDir, aliases: { '@modelriver/node/webhooks': `${nodeDir}dist/webhooks.js` } });
 * console.log(size.gzip);
 * ```
 */
export async function measureWebhooks(
  code: string,
  options: { resolveDir: string; aliases: Readonly<Record<string, string>> },
): Promise<WebhooksBundleSize> {
  const result = await build({
    stdin: { contents: code, loader: 'ts', resolveDir: options.resolveDir },
    alias: { ...options.aliases },
    bundle: true,
    minify: true,
    write: false,
    metafile: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0]!.contents;
  const output = Object.values(result.metafile.outputs)[0]!;
  const inputs = Object.entries(output.inputs)
    .map(([path, info]): [string, number] => [path, info.bytesInOutput])
    .filter(([, size]) => size > 0)
    .sort((a, b) => b[1] - a[1]);
  return { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, inputs };
}
