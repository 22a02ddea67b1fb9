import { defineConfig } from 'tsup';

export default defineConfig({
  // `webhooks` is its own entry so that verifying a webhook pulls in no runtime dependency.
  entry: { index: 'src/index.ts', webhooks: 'src/webhooks/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  external: ['@modelriver/client', 'ws', 'express', 'fastify'],
});
