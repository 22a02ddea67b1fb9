/**
 * Builds the React frontend (src/web, index.html) with Vite's JS API into a folder the backend
 * serves as static files: one origin for the page and the API, nothing proxied.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { build, type Alias } from 'vite';

/** The example's folder (index.html lives there). */
export const CHATBOT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Options of {@link buildFrontend}. */
export interface BuildFrontendOptions {
  /** Where the files go (emptied first). */
  outDir: string;
  /**
   * Bundle `@modelriver/*` from their sources in this repository instead of their built
   * packages (the tests do, like every other test of the suite).
   */
  fromSources?: boolean;
}

const packageSource = (path: string): string => fileURLToPath(new URL(`../../../../packages/${path}`, import.meta.url));

/**
 * Builds the frontend; resolves once the files are written.
 *
 * @example
 * ```ts
 * await buildFrontend({ outDir: 'dist' });
 * ```
 */
export async function buildFrontend(options: BuildFrontendOptions): Promise<void> {
  const alias: Alias[] = options.fromSources
    ? [
        { find: /^@modelriver\/client$/, replacement: packageSource('client/src/index.ts') },
        { find: /^@modelriver\/react$/, replacement: packageSource('react/src/index.ts') },
      ]
    : [];
  // Vite and the React plugin decide between the production and development builds of React (and
  // of its JSX) by NODE_ENV, which a test runner sets to `test`: build as production, then put it back.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({
      root: CHATBOT_ROOT,
      configFile: false,
      mode: 'production',
      logLevel: 'warn',
      plugins: [react()],
      resolve: { alias },
      build: { outDir: options.outDir, emptyOutDir: true },
    });
  } finally {
    if (nodeEnv === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = nodeEnv;
  }
}
