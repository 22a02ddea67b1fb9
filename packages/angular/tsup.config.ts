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
  external: ['@angular/core', 'rxjs', '@modelriver/client'],
});
