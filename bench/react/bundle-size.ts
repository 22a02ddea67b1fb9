/**
 * Browser bundle (esbuild, minified ESM, ES2020, gzip -9, React external) of
 * `import { useModelRiver } from '@modelriver/react'` with the client, beside the client alone
 * (measured by bench/client/measure-bundle.ts, the budget's own settings) and `@ai-sdk/react`'s
 * `useChat`. Prints what the React layer adds; nothing is asserted.
 *
 * Run from the repository root: `npx tsx bench/react/bundle-size.ts`.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CLIENT_DIR, CLIENT_IMPORT, MANGLE_PROPS, measureBundle } from '../client/measure-bundle.js';

const REACT_SRC = fileURLToPath(new URL('../../packages/react/src/index.ts', import.meta.url));

/** Bundles `contents` for the browser with React external, the client from its sources (mangled as published). */
async function measure(contents: string, mangle: boolean): Promise<{ min: number; gzip: number }> {
  const result = await build({
    stdin: { contents, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts', sourcefile: 'entry.ts' },
    bundle: true,
    write: false,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    external: ['react', 'react-dom', 'react/jsx-runtime'],
    logLevel: 'silent',
    plugins: [
      {
        name: 'workspace',
        setup(b) {
          b.onResolve({ filter: /^@modelriver\/client$/ }, () => ({ path: `${CLIENT_DIR}src/index.ts` }));
          b.onResolve({ filter: /^@modelriver\/react$/ }, () => ({ path: REACT_SRC }));
        },
      },
    ],
    ...(mangle ? { mangleProps: MANGLE_PROPS } : {}),
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { min: code.byteLength, gzip: gzipSync(code, { level: 9 }).byteLength };
}

const kib = (n: number): string => `${n.toLocaleString('en-US')} B (${(n / 1024).toFixed(1)} KiB)`;
const client = await measureBundle(CLIENT_IMPORT, { client: `${CLIENT_DIR}src/index.ts`, mangle: true });
const ours = await measure("import { useModelRiver } from '@modelriver/react'; console.log(useModelRiver);", true);
const all = await measure("import * as r from '@modelriver/react'; console.log(r);", true);
const useChat = await measure("import { useChat } from '@ai-sdk/react'; console.log(useChat);", false);

console.log('browser bundle, esbuild minify ESM ES2020, gzip -9, React external\n');
console.log(`${'bundle'.padEnd(44)} ${'min'.padStart(22)} ${'min+gzip'.padStart(22)}`);
const row = (name: string, s: { min: number; gzip: number }): void => console.log(`${name.padEnd(44)} ${kib(s.min).padStart(22)} ${kib(s.gzip).padStart(22)}`);
row('ModelRiverClient (the client alone)', client);
row('useModelRiver (+ client)', ours);
row('@modelriver/react, every export (+ client)', all);
row("useChat from '@ai-sdk/react'", useChat);
console.log(`\nthe React layer adds ${ours.gzip - client.gzip} B min+gzip to the client (target <= 1,536 B)`);
console.log(`useModelRiver with the client is ${(ours.gzip / useChat.gzip).toFixed(2)}x useChat`);
