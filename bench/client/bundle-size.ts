/**
 * Browser bundle size of `ModelRiverClient` next to the official `phoenix`
 * client: esbuild (platform browser, minify, ESM), then gzip level 9.
 * Prints only; never fails on a size.
 *
 *   npx tsx bench/client/bundle-size.ts [--inputs]   (--inputs: bytes per module)
 */
import { build, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const clientDir = fileURLToPath(new URL('../../packages/client/', import.meta.url));
const dist = `${clientDir}dist/index.js`;
const src = `${clientDir}src/index.ts`;
const clientEntry = existsSync(dist) ? dist : src;

// `@modelriver/client` is the package's dist when built, else its sources.
const resolveClient: Plugin = {
  name: 'modelriver-client',
  setup(b) {
    b.onResolve({ filter: /^@modelriver\/client$/ }, () => ({ path: clientEntry }));
  },
};

interface Size {
  name: string;
  min: number;
  gzip: number;
  /** Bytes each input contributes to the minified output, largest first. */
  inputs: Array<[path: string, bytes: number]>;
}

async function measure(name: string, contents: string): Promise<Size> {
  const result = await build({
    stdin: { contents, resolveDir: clientDir, loader: 'ts', sourcefile: `${name}-entry.ts` },
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    // 'browser' honours the `browser` field: isomorphic-ws resolves to its
    // browser build (the global WebSocket), so `ws` stays out of the bundle.
    platform: 'browser',
    target: 'es2020',
    plugins: [resolveClient],
    logLevel: 'silent',
    metafile: true,
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(output?.inputs ?? {})
    .map(([path, info]): [string, number] => [path, info.bytesInOutput])
    .sort((a, b) => b[1] - a[1]);
  if (inputs.some(([p]) => /node_modules\/(\.pnpm\/)?ws[@/]/.test(p))) {
    console.warn(`warning: ${name} pulled in the Node 'ws' package`);
  }
  return { name, min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, inputs };
}

const ours = await measure('modelriver', "import { ModelRiverClient } from '@modelriver/client'; console.log(ModelRiverClient);");
const phoenix = await measure('phoenix', "import { Socket } from 'phoenix'; console.log(Socket);");

const kb = (n: number): string => `${n.toLocaleString('en-US')} B (${(n / 1024).toFixed(1)} KiB)`;
console.log(`\nbrowser bundle, esbuild minify ESM, gzip -9; client from ${clientEntry === dist ? 'dist' : 'src'}\n`);
console.log(['bundle', 'min', 'min+gzip'].map((h, i) => (i === 0 ? h.padEnd(24) : h.padStart(22))).join(''));
for (const s of [ours, phoenix]) {
  const label = s.name === 'modelriver' ? 'ModelRiverClient' : 'phoenix Socket';
  console.log(label.padEnd(24) + kb(s.min).padStart(22) + kb(s.gzip).padStart(22));
}
console.log(
  `ratio vs phoenix`.padEnd(24) + `${(ours.min / phoenix.min).toFixed(2)}x`.padStart(22) + `${(ours.gzip / phoenix.gzip).toFixed(2)}x`.padStart(22),
);
if (process.argv.includes('--inputs')) {
  for (const s of [ours, phoenix]) {
    console.log(`\n${s.name}: minified bytes per input`);
    for (const [path, bytes] of s.inputs) console.log(`${String(bytes).padStart(8)}  ${path.replace(/^.*node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?/, '')}`);
  }
}
