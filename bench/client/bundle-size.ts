/**
 * Browser bundle size of `ModelRiverClient` next to the official `phoenix`
 * client: esbuild (platform browser, minify, ESM, ES2020), then gzip level 9.
 * Prints only; never fails on a size (the budget is packages/client/src/bundle-size.test.ts).
 *
 *   npx tsx bench/client/bundle-size.ts [--inputs] [--features] [--no-build]
 *
 * The headline figure bundles the BUILT package (`packages/client/dist/index.js`,
 * what users get), so the package is built first (`tsup`, as `pnpm --filter
 * @modelriver/client build` does) unless `--no-build`. `--inputs` adds the bytes
 * each source module contributes, from a bundle of `src` with the build's
 * `mangleProps` (the dist is a single file). `--features` prints what each
 * optional feature costs: the same `src` bundle with that feature's modules
 * replaced by the stand-ins in `feature-stubs/` (and with all of them at once).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_DIR, CLIENT_IMPORT, measureBundle, type BundleSize } from './measure-bundle.js';

const dist = `${CLIENT_DIR}dist/index.js`;
const src = `${CLIENT_DIR}src/index.ts`;

if (!process.argv.includes('--no-build')) {
  const require = createRequire(`${CLIENT_DIR}package.json`);
  const tsupPackage = require.resolve('tsup/package.json');
  const tsupBin = join(dirname(tsupPackage), (require(tsupPackage) as { bin: Record<string, string> }).bin.tsup ?? 'dist/cli-default.js');
  console.log('building @modelriver/client (tsup) …');
  execFileSync(process.execPath, [tsupBin, '--silent'], { cwd: CLIENT_DIR, stdio: ['ignore', 'ignore', 'inherit'] });
}
if (!existsSync(dist)) throw new Error(`${dist} is missing: build the package (pnpm --filter @modelriver/client build)`);

const ours = await measureBundle(CLIENT_IMPORT, { client: dist });
const phoenix = await measureBundle("import { Socket } from 'phoenix'; console.log(Socket);");

const kb = (n: number): string => `${n.toLocaleString('en-US')} B (${(n / 1024).toFixed(1)} KiB)`;
const row = (label: string, s: BundleSize): string => label.padEnd(24) + kb(s.min).padStart(22) + kb(s.gzip).padStart(22);
console.log('\nbrowser bundle, esbuild minify ESM ES2020, gzip -9; client from dist (built)\n');
console.log(['bundle', 'min', 'min+gzip'].map((h, i) => (i === 0 ? h.padEnd(24) : h.padStart(22))).join(''));
console.log(row('ModelRiverClient', ours));
console.log(row('phoenix Socket', phoenix));
console.log(`ratio vs phoenix`.padEnd(24) + `${(ours.min / phoenix.min).toFixed(2)}x`.padStart(22) + `${(ours.gzip / phoenix.gzip).toFixed(2)}x`.padStart(22));
// For context, two other realtime clients people put in chat UIs (same settings).
console.log('\nfor context');
console.log(row('socket.io-client io', await measureBundle("import { io } from 'socket.io-client'; console.log(io);")));
console.log(row('centrifuge Centrifuge', await measureBundle("import { Centrifuge } from 'centrifuge'; console.log(Centrifuge);")));

if (process.argv.includes('--inputs')) {
  const fromSrc = await measureBundle(CLIENT_IMPORT, { client: src, mangle: true });
  const short = (path: string): string => path.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^.*packages\/client\//, '');
  console.log(`\nModelRiverClient from src with mangleProps: ${kb(fromSrc.min)} min, ${kb(fromSrc.gzip)} min+gzip`);
  // gzip works on the whole file, so a module's share is estimated from its share of the minified bytes.
  console.log('minified bytes per input (gzip share estimated pro rata)');
  for (const [path, bytes] of fromSrc.inputs) {
    if (bytes === 0) continue;
    console.log(`${String(bytes).padStart(8)}  ~${String(Math.round((bytes / fromSrc.min) * fromSrc.gzip)).padStart(5)} gz  ${short(path)}`);
  }
  console.log('\nphoenix: minified bytes per input');
  for (const [path, bytes] of phoenix.inputs) if (bytes > 0) console.log(`${String(bytes).padStart(8)}  ${short(path)}`);
}

if (process.argv.includes('--features')) {
  const stub = (name: string): string => fileURLToPath(new URL(`./feature-stubs/${name}.ts`, import.meta.url));
  const features: Array<[label: string, modules: string[]]> = [
    ['stream() (async iterator)', ['client-stream']],
    ['reload persistence', ['resume-record', 'storage']],
    ['token fallbacks (getToken, backend)', ['token-source']],
    ['batched notifications', ['notifier']],
  ];
  const measure = (modules: string[]): Promise<BundleSize> =>
    measureBundle(CLIENT_IMPORT, { client: src, mangle: true, stubs: Object.fromEntries(modules.map((m) => [m, stub(m)])) });
  const whole = await measure([]);
  console.log(`\nwhat each feature costs (src, mangled; whole client ${kb(whole.gzip)} min+gzip)`);
  console.log(['left out', 'min+gzip', 'saves'].map((h, i) => (i === 0 ? h.padEnd(40) : h.padStart(22))).join(''));
  for (const [label, modules] of [...features, ['all four', features.flatMap(([, m]) => m)] as [string, string[]]]) {
    const size = await measure(modules);
    console.log(label.padEnd(40) + kb(size.gzip).padStart(22) + `${(whole.gzip - size.gzip).toLocaleString('en-US')} B`.padStart(22));
  }
  console.log(`target (issue 2)`.padEnd(40) + kb(6144).padStart(22));
}
