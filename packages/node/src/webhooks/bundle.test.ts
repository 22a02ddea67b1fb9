import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { WEBHOOKS_BUDGET_GZIP_BYTES, WEBHOOKS_CASES, measureWebhooks } from '../../../../bench/node/measure-webhooks.js';
import { NOW_MS, SECRET, completedEvent, signedDelivery } from '../../test/support/webhook-fixtures.js';

const pkg = fileURLToPath(new URL('../../', import.meta.url));
const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
// The client's sources, as the rest of the suite tests them: WebhookVerificationError extends
// its ModelRiverError, which this entry takes from `@modelriver/client/errors`, the one module of
// another package it may pull in. The main entry is aliased too, so that importing it by mistake
// shows up below as an input rather than as a resolution error.
const clientSrc = fileURLToPath(new URL('../../../client/src/', import.meta.url));
const aliases = { '@modelriver/client/errors': `${clientSrc}errors-entry.ts`, '@modelriver/client': `${clientSrc}index.ts` };
const CLIENT_ERRORS = '../client/src/errors.ts';
const CLIENT_ERRORS_ENTRY = '../client/src/errors-entry.ts';

async function bundle(format: 'esm' | 'iife') {
  return build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    format,
    globalName: format === 'iife' ? 'mrWebhooks' : undefined,
    target: 'es2022',
    alias: aliases,
    absWorkingDir: pkg,
    logLevel: 'silent',
  });
}

describe('@modelriver/node/webhooks entry', () => {
  it("ships nothing but src/webhooks/ and the client's error class (no other dependency, no node: builtin)", async () => {
    const result = await bundle('esm');
    const [output] = Object.values(result.metafile.outputs);
    // Modules that put code in the bundle: of the client, errors.ts alone (its entry only re-exports).
    const shipped = Object.entries(output!.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
    expect(shipped.length).toBeGreaterThan(3);
    expect(shipped).toContain(CLIENT_ERRORS);
    for (const input of shipped) {
      expect(input === CLIENT_ERRORS || input.startsWith('src/webhooks/'), `unexpected module in the webhooks bundle: ${input}`).toBe(true);
    }
    const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports);
    expect(imports.filter((i) => i.external)).toEqual([]);
  });

  it('reads nothing of the client but its errors entry (not its main entry, eventemitter3 or ws)', async () => {
    const result = await bundle('esm');
    // Every module esbuild parsed, whether or not any of it was kept.
    const read = Object.keys(result.metafile.inputs);
    for (const input of read) {
      expect(input === CLIENT_ERRORS || input === CLIENT_ERRORS_ENTRY || input.startsWith('src/webhooks/'), `the webhooks entry reads ${input}`).toBe(true);
    }
  });

  it(`stays within ${WEBHOOKS_BUDGET_GZIP_BYTES} B min+gzip, root error class included`, async () => {
    for (const [label, code] of WEBHOOKS_CASES) {
      const size = await measureWebhooks(code, { resolveDir: pkg, aliases: { ...aliases, '@modelriver/node/webhooks': entry } });
      expect(size.gzip, `${label}: min ${size.min} B, min+gzip ${size.gzip} B`).toBeLessThanOrEqual(WEBHOOKS_BUDGET_GZIP_BYTES);
    }
  });

  it('loads and verifies in a runtime without node:crypto, process, require or Buffer', async () => {
    const result = await bundle('iife');
    const code = result.outputFiles[0]!.text;
    const sandbox: Record<string, unknown> = {
      crypto: globalThis.crypto,
      TextEncoder,
      TextDecoder,
      atob,
      btoa,
    };
    runInNewContext(`${code}\nglobalThis.mrWebhooks = mrWebhooks;`, sandbox);
    const lib = sandbox.mrWebhooks as typeof import('./index.js');
    expect(sandbox.process).toBeUndefined();

    const { body, headers } = signedDelivery(completedEvent());
    const verified = await lib.verifyWebhookAsync({ body, headers, secret: SECRET, now: () => NOW_MS });
    expect(verified.event.id).toBe('evt_completed_1');
    const bad = await lib.verifyWebhookAsync({ body: `${body} `, headers, secret: SECRET, now: () => NOW_MS }).catch((e: { code: string }) => e);
    expect(bad).toMatchObject({ code: 'bad_signature' });
    expect(bad).toBeInstanceOf(lib.WebhookVerificationError);
    expect(bad).toBeInstanceOf(lib.ModelRiverError);
    expect(lib.ModelRiverError.is(bad, 'bad_signature')).toBe(true);

    let syncError: unknown;
    try {
      lib.verifyWebhook({ body, headers, secret: SECRET, now: () => NOW_MS });
    } catch (e) {
      syncError = e;
    }
    expect(syncError).toMatchObject({ code: 'unsupported_runtime' });
    expect(String((syncError as Error).message)).toContain('verifyWebhookAsync');
  });
});

// What users get: the built packages (`npm run build`; `npm test` builds them first), loaded by a
// real `node` process, outside vitest's aliases (which point at the sources).
describe('@modelriver/node/webhooks from dist', () => {
  const run = promisify(execFile);
  const dist = (file: string) => `${pkg}dist/${file}`;
  // Bounds a stuck child process; it usually takes well under a second.
  const CHILD_TIMEOUT_MS = 30_000;

  function requireBuilt(file: string): string {
    const path = dist(file);
    if (!existsSync(path)) throw new Error(`${path} is missing: build the packages first (npm run build)`);
    return path;
  }

  it('require() loads only the webhooks entry and @modelriver/client/errors (no client, eventemitter3 or ws)', async () => {
    const file = requireBuilt('webhooks.cjs');
    const script = `require(${JSON.stringify(file)}); process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: pkg, timeout: CHILD_TIMEOUT_MS });
    const loaded = (JSON.parse(stdout) as string[]).map((p) => p.replace(/\\/g, '/'));
    expect(loaded.some((p) => p.endsWith('/client/dist/errors.cjs'))).toBe(true);
    for (const path of loaded) {
      expect(/\/packages\/node\/dist\/webhooks\.cjs$|\/client\/dist\/(errors|chunk-[\w-]+)\.cjs$/.test(path), `require('@modelriver/node/webhooks') loaded ${path}`).toBe(true);
    }
  });

  it('import reaches only the webhooks entry and @modelriver/client/errors, and one ModelRiverError', async () => {
    const file = requireBuilt('webhooks.js');
    // The ESM graph as Node resolves it (no dynamic import in dist): every file esbuild reads.
    const graph = await build({ entryPoints: [file], absWorkingDir: pkg, bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', logLevel: 'silent' });
    for (const input of Object.keys(graph.metafile.inputs)) {
      expect(/^dist\/(webhooks|chunk-[\w-]+)\.js$|\/client\/dist\/(errors|chunk-[\w-]+)\.js$/.test(input), `import '@modelriver/node/webhooks' reads ${input}`).toBe(true);
    }
    const script = [
      `const w = await import(${JSON.stringify(pathToFileURL(file).href)});`,
      `const c = await import('@modelriver/client');`,
      `const e = new w.WebhookVerificationError('bad_signature', 'x');`,
      `process.stdout.write(JSON.stringify([w.ModelRiverError === c.ModelRiverError, e instanceof c.ModelRiverError]));`,
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: pkg, timeout: CHILD_TIMEOUT_MS });
    expect(JSON.parse(stdout)).toEqual([true, true]);
  });
});
