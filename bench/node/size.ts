/**
 * Bundle size of the webhooks entry as an app ships it: esbuild bundles an import of
 * `@modelriver/node/webhooks` from the BUILT packages (`packages/node/dist/webhooks.js`, which
 * imports `@modelriver/client/errors` from `packages/client/dist`), minified for a browser/edge
 * target (settings in `measure-webhooks.ts`), then gzips it. Prints bytes against the budget.
 * A measurement, not a test (the budget is checked from the sources by
 * packages/node/src/webhooks/bundle.test.ts).
 *
 * Both packages are built first (`tsup`, as `npm run build` does) unless `--no-build`.
 * `--inputs` adds the minified bytes each built file contributes.
 *
 * Run: npx tsx bench/node/size.ts [--inputs] [--no-build]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WEBHOOKS_BUDGET_GZIP_BYTES as BUDGET, WEBHOOKS_CASES, measureWebhooks } from './measure-webhooks.js';

const CLIENT_DIR = fileURLToPath(new URL('../../packages/client/', import.meta.url));
const NODE_DIR = fileURLToPath(new URL('../../packages/node/', import.meta.url));
const entry = `${NODE_DIR}dist/webhooks.js`;

if (!process.argv.includes('--no-build')) {
  const require = createRequire(`${CLIENT_DIR}package.json`);
  const tsupPackage = require.resolve('tsup/package.json');
  const tsupBin = join(dirname(tsupPackage), (require(tsupPackage) as { bin: Record<string, string> }).bin.tsup ?? 'dist/cli-default.js');
  // The client first: the node package's declaration build reads the client's built types.
  for (const dir of [CLIENT_DIR, NODE_DIR]) {
    console.log(`building ${dir.replace(/^.*\/(packages\/[^/]+)\/$/, '$1')} (tsup) …`);
    execFileSync(process.execPath, [tsupBin, '--silent'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}
if (!existsSync(entry)) throw new Error(`${entry} is missing: build the packages (npm run build)`);

console.log(`webhooks entry from dist, min+gzip (budget ${BUDGET} B)`);
for (const [label, code] of WEBHOOKS_CASES) {
  // Only the alias of the entry itself: `@modelriver/client/errors` resolves from packages/node/dist
  // through its node_modules, as in an installed app.
  const { min, gzip, inputs } = await measureWebhooks(code, { resolveDir: NODE_DIR, aliases: { '@modelriver/node/webhooks': entry } });
  // Anything but the two packages' built files (eventemitter3, ws, the whole client) is a regression.
  const foreign = inputs.filter(([path]) => path !== '<stdin>' && !/packages\/(node|client)\/dist\//.test(path));
  if (foreign.length > 0) throw new Error(`the webhooks bundle pulled in ${foreign.map(([p]) => p).join(', ')}`);
  const verdict = gzip <= BUDGET ? 'within budget' : 'OVER BUDGET';
  console.log(`  ${label.padEnd(62)} ${String(min).padStart(6)} B min  ${String(gzip).padStart(5)} B gzip  ${(gzip / BUDGET).toFixed(2)}× budget  ${verdict}`);
  if (process.argv.includes('--inputs')) {
    for (const [path, bytes] of inputs) console.log(`      ${String(bytes).padStart(6)} B min  ${path.replace(/^.*packages\//, 'packages/')}`);
  }
}
