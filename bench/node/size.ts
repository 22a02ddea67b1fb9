/**
 * Bundle size of the webhooks entry as an app would ship it: esbuild bundles an import of
 * `@modelriver/node/webhooks` (from source), minified for a neutral/browser target, then
 * gzips it. Prints bytes against the 3 KB budget. A measurement, not a test.
 *
 * Run: npx tsx bench/node/size.ts
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET = 3 * 1024;
const source = fileURLToPath(new URL('../../packages/node/src/webhooks/index.ts', import.meta.url));

const cases: Array<[label: string, code: string]> = [
  ['verifyWebhook', `import { verifyWebhook } from '@modelriver/node/webhooks'; globalThis.v = verifyWebhook;`],
  ['verifyWebhookAsync', `import { verifyWebhookAsync } from '@modelriver/node/webhooks'; globalThis.v = verifyWebhookAsync;`],
  [
    'verifyWebhook + verifyWebhookAsync + WebhookVerificationError',
    `import { verifyWebhook, verifyWebhookAsync, WebhookVerificationError } from '@modelriver/node/webhooks'; globalThis.v = [verifyWebhook, verifyWebhookAsync, WebhookVerificationError];`,
  ],
];

async function measure(code: string): Promise<{ min: number; gzip: number }> {
  const result = await build({
    stdin: { contents: code, loader: 'ts', resolveDir: process.cwd() },
    alias: { '@modelriver/node/webhooks': source },
    bundle: true,
    minify: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
  });
  const bytes = result.outputFiles[0]!.contents;
  return { min: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

console.log(`webhooks entry, min+gzip (budget ${BUDGET} B)`);
for (const [label, code] of cases) {
  const { min, gzip } = await measure(code);
  const verdict = gzip <= BUDGET ? 'within budget' : 'OVER BUDGET';
  console.log(`  ${label.padEnd(62)} ${String(min).padStart(6)} B min  ${String(gzip).padStart(5)} B gzip  ${(gzip / BUDGET).toFixed(2)}× budget  ${verdict}`);
}
