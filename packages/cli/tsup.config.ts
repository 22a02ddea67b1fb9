import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { cli: 'src/cli.ts' },
  format: ['esm'],
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // The bin runs as is: `npm install -g` links dist/cli.js, and the shebang makes it executable.
  banner: { js: '#!/usr/bin/env node' },
  external: ['@modelriver/client', '@modelriver/node', 'commander', 'ws'],
});
