/**
 * How the client's browser bundle size is measured, shared by `bundle-size.ts`
 * (the benchmark) and `packages/client/src/bundle-size.test.ts` (the budget), so
 * both use exactly the same settings: esbuild, platform browser, minified ESM,
 * ES2020, then gzip level 9 with `node:zlib`.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** packages/client/, with a trailing slash. */
export const CLIENT_DIR = fileURLToPath(new URL('../../packages/client/', import.meta.url));

/** What a user writes to get the client. */
export const CLIENT_IMPORT = "import { ModelRiverClient } from '@modelriver/client'; console.log(ModelRiverClient);";

/** The published build's property mangling (see packages/client/tsup.config.ts): private members start with `_`. */
export const MANGLE_PROPS = /^_/;

/** Size of one bundle. */
export interface BundleSize {
  /** Minified bytes. */
  min: number;
  /** Minified, then gzip -9, bytes. */
  gzip: number;
  /** Bytes each input contributes to the minified output, largest first. */
  inputs: Array<[path: string, bytes: number]>;
}

/**
 * Bundles `contents` (an entry module's source) for the browser and measures it.
 * `client` is the file `@modelriver/client` resolves to (the built `dist/index.js`
 * or `src/index.ts`); `mangle` applies the published build's `mangleProps`
 * (needed when bundling from `src`; `dist` is already mangled). `stubs` maps a
 * module of the client's `src` (by file name, e.g. `'notifier'`) to a file that
 * is bundled in its place.
 *
 * @example
 * ```ts
 * const size = await measureBundle(CLIENT_IMPORT, { client: `${CLIENT_DIR}src/index.ts`, mangle: true });
 * console.log(size.gzip);
 * ```
 */
export async function measureBundle(
  contents: string,
  options: { client?: string; mangle?: boolean; stubs?: Readonly<Record<string, string>> } = {},
): Promise<BundleSize> {
  const client = options.client;
  const stubs = options.stubs ?? {};
  const resolveClient: Plugin = {
    name: 'modelriver-client',
    setup(b) {
      if (client !== undefined) b.onResolve({ filter: /^@modelriver\/client$/ }, () => ({ path: client }));
      // A stub stands in for one module of the client's sources (bundle-size.ts --features).
      b.onLoad({ filter: /packages\/client\/src\/[\w-]+\.ts$/ }, (args) => {
        const stub = stubs[basename(args.path, '.ts')];
        return stub === undefined ? undefined : { contents: readFileSync(stub, 'utf8'), loader: 'ts', resolveDir: dirname(stub) };
      });
    },
  };
  const settings: BuildOptions = {
    stdin: { contents, resolveDir: CLIENT_DIR, loader: 'ts', sourcefile: 'entry.ts' },
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
    ...(options.mangle === true ? { mangleProps: MANGLE_PROPS } : {}),
  };
  const result = await build(settings);
  const code = result.outputFiles?.[0]?.contents ?? new Uint8Array();
  const output = Object.values(result.metafile?.outputs ?? {})[0];
  const inputs = Object.entries(output?.inputs ?? {})
    .map(([path, info]): [string, number] => [path, info.bytesInOutput])
    .sort((a, b) => b[1] - a[1]);
  if (inputs.some(([p]) => /node_modules\/(\.pnpm\/)?ws[@/]/.test(p))) {
    throw new Error("the browser bundle pulled in the Node 'ws' package");
  }
  return { min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength, inputs };
}
