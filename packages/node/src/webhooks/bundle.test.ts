import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { NOW_MS, SECRET, completedEvent, signedDelivery } from '../../test/support/webhook-fixtures.js';

const pkg = fileURLToPath(new URL('../../', import.meta.url));
const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
// The client's sources, as the rest of the suite tests them: WebhookVerificationError extends
// its ModelRiverError, the one module of another package this entry may pull in.
const client = fileURLToPath(new URL('../../../client/src/index.ts', import.meta.url));
const CLIENT_ERRORS = '../client/src/errors.ts';

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
    alias: { '@modelriver/client': client },
    absWorkingDir: pkg,
    logLevel: 'silent',
  });
}

describe('@modelriver/node/webhooks entry', () => {
  it("ships nothing but src/webhooks/ and the client's error class (no other dependency, no node: builtin)", async () => {
    const result = await bundle('esm');
    const [output] = Object.values(result.metafile.outputs);
    // Modules that put code in the bundle: the client's index is parsed, but only errors.ts stays.
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
