import { defineConfig } from 'tsup';
import type { Options } from 'tsup';

/** The script-tag build's file: dist/modelriver.global.js (tsup names IIFE output `[name].global.js`). */
const GLOBAL_FILE = 'modelriver.global.js';

const mangle: Options['esbuildOptions'] = (options) => {
  // Private members (and internal object fields) start with `_`: shortened in the published
  // build. Nothing public or shared with other packages starts with `_`.
  options.mangleProps = /^_/;
};

export default defineConfig([{
  // `errors` lets code that only needs the error family (e.g. @modelriver/node/webhooks) skip the
  // client, eventemitter3 and ws.
  entry: { index: 'src/index.ts', errors: 'src/errors-entry.ts' },
  format: ['esm', 'cjs'],
  // Both entries must share one ModelRiverError at run time (or `instanceof` breaks between them):
  // the class lives in a shared chunk, for CJS too (tsup splits as ESM, then sucrase rewrites the
  // chunks to require(), lowering `?.`/`??` to small helpers in the .cjs files on the way).
  // test/errors-entry.test.ts checks both formats against dist.
  splitting: true,
  // stripInternal drops the `@internal` private members (named `_x`, mangled below) from the .d.ts.
  dts: { compilerOptions: { stripInternal: true } },
  // The script-tag build below writes into the same folder, maybe first: keep its files.
  clean: [`!${GLOBAL_FILE}`, `!${GLOBAL_FILE}.map`],
  sourcemap: true,
  // ES2020 output is what browsers and Node 18 run natively; the sources avoid class
  // fields and logical assignment on properties, so it needs no helpers.
  target: 'es2020',
  // isomorphic-ws picks the browser's WebSocket or `ws` at the consumer's bundle time.
  external: ['isomorphic-ws', 'ws'],
  esbuildOptions: mangle,
}, {
  // The script-tag build: one minified file for a plain HTML page, no bundler, exposing the
  // global `ModelRiver` (`new ModelRiver.ModelRiverClient()`). Everything is bundled; for the
  // browser platform isomorphic-ws resolves to its browser file (the page's WebSocket), so no
  // `ws` is inside.
  entry: { modelriver: 'src/index.ts' },
  format: ['iife'],
  globalName: 'ModelRiver',
  platform: 'browser',
  noExternal: [/./],
  minify: true,
  sourcemap: true,
  clean: false,
  dts: false,
  target: 'es2020',
  esbuildOptions: mangle,
}]);
