import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources, so a change is tested without a rebuild.
    alias: [
      { find: /^@modelriver\/client$/, replacement: src('./packages/client/src/index.ts') },
      { find: /^@modelriver\/node\/webhooks$/, replacement: src('./packages/node/src/webhooks/index.ts') },
      { find: /^@modelriver\/node$/, replacement: src('./packages/node/src/index.ts') },
      { find: /^@modelriver\/test-utils$/, replacement: src('./packages/test-utils/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/{src,test}/**/*.test.ts', 'examples/*/{src,test}/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    typecheck: {
      enabled: true,
      include: ['packages/*/{src,test}/**/*.test-d.ts'],
      tsconfig: './tsconfig.typetests.json',
    },
  },
});
