import { configDefaults, defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';
// The Svelte compiler and Testing Library's plugin, resolved from the svelte package's dependencies.
import { svelteTestPlugins } from './packages/svelte/test/vitest-plugins.js';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** React 18 for the second run of the React package's tests (installed as react18/react-dom18). */
const react18 = [
  { find: /^react-dom(\/.*)?$/, replacement: `${src('./packages/react/node_modules/react-dom18')}$1` },
  { find: /^react(\/.*)?$/, replacement: `${src('./packages/react/node_modules/react18')}$1` },
];
const reactTests = ['packages/react/{src,test}/**/*.test.{ts,tsx}'];
/** The Svelte package's tests need the Svelte compiler: they run in their own project only. */
const svelteTests = ['packages/svelte/{src,test}/**/*.test.ts'];
const svelteTestsFromRoot = ['{src,test}/**/*.test.ts'];

// Shared by all projects. Each project names its own `include`: with `extends: true`, vitest
// would concatenate the lists and run every test in both projects.
const shared = {
  testTimeout: 20_000,
  hookTimeout: 20_000,
};

export default defineConfig({
  resolve: {
    // Tests run against the sources, so a change is tested without a rebuild.
    alias: [
      { find: /^@modelriver\/client\/errors$/, replacement: src('./packages/client/src/errors-entry.ts') },
      { find: /^@modelriver\/client$/, replacement: src('./packages/client/src/index.ts') },
      { find: /^@modelriver\/node\/webhooks$/, replacement: src('./packages/node/src/webhooks/index.ts') },
      { find: /^@modelriver\/node$/, replacement: src('./packages/node/src/index.ts') },
      { find: /^@modelriver\/test-utils\/bindings$/, replacement: src('./packages/test-utils/src/binding-harness.ts') },
      { find: /^@modelriver\/test-utils$/, replacement: src('./packages/test-utils/src/index.ts') },
      { find: /^@modelriver\/react$/, replacement: src('./packages/react/src/index.ts') },
      { find: /^@modelriver\/vue$/, replacement: src('./packages/vue/src/index.ts') },
      { find: /^@modelriver\/svelte$/, replacement: src('./packages/svelte/src/index.ts') },
      { find: /^@modelriver\/angular$/, replacement: src('./packages/angular/src/index.ts') },
    ],
  },
  test: {
    projects: [
      // Everything, React's tests on React 19.
      {
        extends: true,
        test: {
          ...shared,
          name: 'default',
          include: ['packages/*/{src,test}/**/*.test.{ts,tsx}', 'examples/*/{src,test}/**/*.test.ts', 'tests/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...svelteTests],
          typecheck: {
            enabled: true,
            include: ['packages/*/{src,test}/**/*.test-d.ts'],
            tsconfig: './tsconfig.typetests.json',
          },
        },
      },
      // The React package's tests again, on React 18.
      {
        extends: true,
        resolve: { alias: react18 },
        test: {
          ...shared,
          name: 'react18',
          include: reactTests,
          // react-dom18 and @testing-library are loaded by Node, not Vite: they need the same redirection.
          setupFiles: ['packages/react/test/react18-setup.ts'],
        },
      },
      // The Svelte package's tests, with `.svelte` test components compiled.
      {
        extends: true,
        plugins: svelteTestPlugins(),
        // Svelte's client build needs the `browser` condition, which would also give `ws` its
        // browser stub: the fake gateway and the tests' client need the Node one.
        resolve: { alias: [{ find: /^ws$/, replacement: src('./node_modules/ws/wrapper.mjs') }] },
        // Svelte resolves from its own package (the plugin pre-bundles it from the root).
        root: src('./packages/svelte'),
        test: {
          ...shared,
          name: 'svelte',
          include: svelteTestsFromRoot,
        },
      },
    ],
  },
});
