import { defineConfig } from 'tsup';

export default defineConfig({
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
  clean: true,
  sourcemap: true,
  // ES2020 output is what browsers and Node 18 run natively; the sources avoid class
  // fields and logical assignment on properties, so it needs no helpers.
  target: 'es2020',
  // isomorphic-ws picks the browser's WebSocket or `ws` at the consumer's bundle time.
  external: ['isomorphic-ws', 'ws'],
  esbuildOptions(options) {
    // Private members (and internal object fields) start with `_`: shortened in the published
    // build. Nothing public or shared with other packages starts with `_`.
    options.mangleProps = /^_/;
  },
});
