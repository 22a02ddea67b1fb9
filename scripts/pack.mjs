// Packs every public package (packages/*, not "private") into installable tarballs with
// `pnpm pack`, which turns `workspace:^` dependencies into the real version ranges; `npm pack`
// leaves `workspace:^` in place and npm then cannot install the tarball.
//
//   npm run pack:packages [-- <destination folder>]     (default: ./packs)
//
// Then, in any project: `npm install <destination>/modelriver-client-0.1.0.tgz ...`.
// Run after the packages are built (`npm test`, `npm run demo` or `npm run build` do it).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The workspace's public packages: every packages/* folder whose package.json is not private.
 *
 * @param {string} [root] the repository root
 * @returns {import('./pack.d.mts').PublicPackage[]} sorted by folder name
 * @example
 * ```js
 * publicPackages().map((p) => p.name); // ['@modelriver/client', '@modelriver/node', ...]
 * ```
 */
export function publicPackages(root = repoRoot) {
  const packagesDir = join(root, 'packages');
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => existsSync(join(packagesDir, entry.name, 'package.json')))
    .map((entry) => {
      const dir = join(packagesDir, entry.name);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      return { name: manifest.name, dir, manifest };
    })
    .filter((pkg) => pkg.manifest.private !== true)
    .sort((a, b) => a.dir.localeCompare(b.dir));
}

/**
 * Packs each public package with `pnpm pack` into `destination`. Refuses a package whose build
 * output is missing, since its tarball would install and then fail at import.
 *
 * @param {string} destination folder for the tarballs (created when missing)
 * @param {string} [root] the repository root
 * @returns {import('./pack.d.mts').PackedPackage[]}
 * @example
 * ```js
 * const packed = packPackages('/tmp/packs');
 * // [{ name: '@modelriver/client', version: '0.1.0', tarball: '/tmp/packs/modelriver-client-0.1.0.tgz' }, ...]
 * ```
 */
export function packPackages(destination, root = repoRoot) {
  mkdirSync(destination, { recursive: true });
  const pnpm = join(root, 'node_modules', '.bin', 'pnpm');
  if (!existsSync(pnpm)) {
    throw new Error(`${pnpm} not found: install the workspace first (\`npm test\` or \`npm run demo\` do it)`);
  }
  const packages = publicPackages(root);
  // All checked before any is packed, so a failure leaves no half-filled destination behind.
  for (const { name, dir, manifest } of packages) {
    for (const entry of [manifest.main, manifest.module].filter((e) => typeof e === 'string')) {
      if (!existsSync(join(dir, entry))) {
        throw new Error(`${name}: ${entry} is missing; build the packages first (\`npm run build\`)`);
      }
    }
  }
  return packages.map(({ name, dir }) => {
    const out = execFileSync(pnpm, ['pack', '--json', '--pack-destination', destination], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      shell: process.platform === 'win32',
    });
    const result = JSON.parse(out);
    return { name, version: result.version, tarball: resolve(destination, result.filename) };
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  // `npm run` starts scripts in the repository root; a relative folder means the caller's.
  const destination = process.argv[2] === undefined ? join(repoRoot, 'packs') : resolve(process.env.INIT_CWD ?? '.', process.argv[2]);
  try {
    for (const { tarball } of packPackages(destination)) console.log(tarball);
  } catch (error) {
    console.error(`pack: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
