/**
 * The React 18 run: modules Node loads itself (react-dom 18, @testing-library/react) must get
 * React 18 too. pnpm links react-dom18 against the workspace's React 19, and Vite's aliases only
 * reach the modules Vite transforms, so `react`/`react-dom` requests are redirected here.
 */
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Not `new URL(…, import.meta.url)`: in a jsdom test Vite rewrites that pattern as an asset URL.
const dir = (name: string): string => join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', name);
const targets: Array<[RegExp, string]> = [
  [/^react-dom(?=\/|$)/, dir('react-dom18')],
  [/^react(?=\/|$)/, dir('react18')],
];
type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };
const original = loader._resolveFilename;
loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
  for (const [pattern, target] of targets) {
    if (pattern.test(request)) return original.call(this, request.replace(pattern, target), ...rest);
  }
  return original.call(this, request, ...rest);
};
