import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2020',
  // isomorphic-ws picks the browser's WebSocket or `ws` at the consumer's bundle time.
  external: ['isomorphic-ws', 'ws', 'eventemitter3'],
});
