import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  // Without the sources' path mapping: the declarations import '@modelriver/client' as users do.
  tsconfig: 'tsconfig.build.json',
  clean: true,
  sourcemap: true,
  target: 'es2020',
  // The hooks run in the browser: Next.js (App Router) must see the whole module as a client one.
  banner: { js: '"use client";' },
  external: ['react', '@modelriver/client'],
});
