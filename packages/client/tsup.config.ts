import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
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
