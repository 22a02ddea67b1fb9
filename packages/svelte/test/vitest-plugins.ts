/**
 * The Vite plugins of the `svelte` test project in the root vitest.config.ts, imported from here
 * so they resolve from this package's dependencies: the compiler for the `.svelte` test
 * components, and Testing Library's browser resolution (Svelte's client build in jsdom) with
 * cleanup after each test.
 */
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

/** Named through the plugins' own types: `vite`, where `PluginOption` lives, is not this package's dependency. */
export type SvelteTestPlugin = ReturnType<typeof svelte>[number] | ReturnType<typeof svelteTesting>;

/**
 * The plugins, in order: the compiler, then Testing Library's set-up.
 *
 * @example
 * ```ts
 * { plugins: svelteTestPlugins(), test: { name: 'svelte' } }
 * ```
 */
export function svelteTestPlugins(): SvelteTestPlugin[] {
  return [...svelte({ configFile: false }), svelteTesting()];
}
