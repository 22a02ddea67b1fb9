/**
 * `@modelriver/client/errors` as users get it: the BUILT dist (`npm run build`; `npm test` builds
 * it first). Whichever entry creates or tests an error, there is one ModelRiverError per module
 * format, so `instanceof` holds across the two entries; and the errors entry loads nothing else.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

type ErrorsEntry = typeof import('../src/errors-entry.js');

const pkg = fileURLToPath(new URL('../', import.meta.url));
const require = createRequire(import.meta.url);
const run = promisify(execFile);
// Bounds a stuck child process; it usually takes well under a second.
const CHILD_TIMEOUT_MS = 30_000;
/** Everything the errors entry exports at run time (its internal helpers stay internal). */
const PUBLIC_NAMES = ['ErrorCode', 'ModelRiverError', 'TERMINAL_ERROR_CODES'];

function built(file: string): string {
  const path = `${pkg}dist/${file}`;
  if (!existsSync(path)) throw new Error(`${path} is missing: build the package first (npm run build)`);
  return path;
}

function expectOneFamily(main: ErrorsEntry, errors: ErrorsEntry): void {
  expect(errors.ModelRiverError).toBe(main.ModelRiverError);
  expect(errors.ErrorCode).toBe(main.ErrorCode);
  expect(errors.TERMINAL_ERROR_CODES).toBe(main.TERMINAL_ERROR_CODES);
  const fromErrors = new errors.ModelRiverError('unauthorized', 'from the errors entry');
  const fromMain = new main.ModelRiverError('unauthorized', 'from the main entry');
  expect(fromErrors).toBeInstanceOf(main.ModelRiverError);
  expect(fromMain).toBeInstanceOf(errors.ModelRiverError);
  // A subclass made from one entry's class is recognised by the other's.
  class AppError extends errors.ModelRiverError {}
  expect(new AppError('app', 'x')).toBeInstanceOf(main.ModelRiverError);
  expect(main.ModelRiverError.is(fromErrors, 'unauthorized')).toBe(true);
  expect(Object.keys(errors).sort()).toEqual(PUBLIC_NAMES);
}

describe('@modelriver/client/errors (built)', () => {
  it('ESM: one ModelRiverError shared by @modelriver/client and @modelriver/client/errors', async () => {
    const main = (await import(/* @vite-ignore */ pathToFileURL(built('index.js')).href)) as ErrorsEntry;
    const errors = (await import(/* @vite-ignore */ pathToFileURL(built('errors.js')).href)) as ErrorsEntry;
    expectOneFamily(main, errors);
  });

  it('CJS: one ModelRiverError shared by @modelriver/client and @modelriver/client/errors', () => {
    const main = require(built('index.cjs')) as ErrorsEntry;
    const errors = require(built('errors.cjs')) as ErrorsEntry;
    expectOneFamily(main, errors);
  });

  it('CJS: require() of the errors entry loads no other module (no client, eventemitter3 or ws)', async () => {
    const script = `require(${JSON.stringify(built('errors.cjs'))}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: pkg, timeout: CHILD_TIMEOUT_MS });
    const loaded = (JSON.parse(stdout) as string[]).map((p) => p.replace(/\\/g, '/'));
    expect(loaded.length).toBeGreaterThan(0);
    for (const path of loaded) expect(/\/dist\/(errors|chunk-[\w-]+)\.cjs$/.test(path), `require('@modelriver/client/errors') loaded ${path}`).toBe(true);
  });

  it('ESM: the errors entry imports no other module (no client, eventemitter3 or ws)', async () => {
    // The static import graph as Node resolves it (the dist has no dynamic import): every file esbuild reads.
    const graph = await build({ entryPoints: [built('errors.js')], absWorkingDir: pkg, bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', logLevel: 'silent' });
    const read = Object.keys(graph.metafile.inputs);
    expect(read).toContain('dist/errors.js');
    for (const path of read) expect(/^dist\/(errors|chunk-[\w-]+)\.js$/.test(path), `import '@modelriver/client/errors' reads ${path}`).toBe(true);
  });
});
