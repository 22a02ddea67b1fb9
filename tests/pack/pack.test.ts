/**
 * The public packages as a user outside this workspace gets them: every packages/* that is not
 * private is packed with `pnpm pack` (scripts/pack.mjs), the tarballs are installed with plain
 * `npm install` into an empty project, and each export is imported there as ESM and required as
 * CJS by a separate `node` process. Needs the built `dist/` (scripts/setup.mjs builds it) and the
 * npm registry for third-party dependencies: without the registry it is skipped with one line
 * saying so, except under CI=true, where it fails.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { packPackages, publicPackages, type PublicPackage } from '../../scripts/pack.mjs';

const run = promisify(execFile);

/** Bound of the whole setup (pack + npm install); it usually takes a few seconds. */
const SETUP_TIMEOUT_MS = 120_000;
/** Bound of one `node` process importing a package. */
const IMPORT_TIMEOUT_MS = 30_000;

/**
 * Cached metadata first; npm's default retries and 5-minute request timeout would let an
 * unreachable registry hold the setup for minutes before it can say so, so both are bounded.
 */
const NPM_INSTALL_FLAGS = [
  '--no-audit',
  '--no-fund',
  '--prefer-offline',
  '--loglevel=error',
  '--fetch-retries=2',
  '--fetch-retry-mintimeout=1000',
  '--fetch-retry-maxtimeout=4000',
  '--fetch-timeout=20000',
];

/** npm's codes for a registry it cannot reach (DNS, refused, reset, timed out, no route). */
const OFFLINE_CODES =
  /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ESOCKETTIMEDOUT|ERR_SOCKET_TIMEOUT|ENETUNREACH|EHOSTUNREACH)\b/;

const onCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

const packages = publicPackages();

/** Each export subpath of a package, as a specifier, with the conditions it offers. */
function entryPoints(pkg: PublicPackage): { specifier: string; esm: boolean; cjs: boolean }[] {
  const exportsField = pkg.manifest.exports ?? { '.': {} };
  return Object.entries(exportsField)
    .filter(([subpath]) => subpath !== './package.json')
    .map(([subpath, target]) => {
      const conditions = typeof target === 'object' && target !== null ? Object.keys(target) : [];
      const plain = typeof target === 'string' || conditions.includes('default');
      return {
        specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
        esm: plain || conditions.includes('import'),
        cjs: plain || conditions.includes('require'),
      };
    });
}

/** Non-optional peers (React for @modelriver/react) are installed next to the tarballs. */
function requiredPeers(): string[] {
  const peers = new Map<string, string>();
  for (const pkg of packages) {
    for (const [name, range] of Object.entries(pkg.manifest.peerDependencies ?? {})) {
      if (pkg.manifest.peerDependenciesMeta?.[name]?.optional === true) continue;
      if (!packages.some((p) => p.name === name)) peers.set(name, range);
    }
  }
  return [...peers].map(([name, range]) => `${name}@${range}`);
}

type Setup = { state: 'installed'; project: string } | { state: 'offline'; reason: string };

describe('public packages installed from their tarballs with npm', () => {
  let workDir: string | undefined;
  let setup: Setup | undefined;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'modelriver-pack-'));
    const packed = packPackages(join(workDir, 'tarballs'));
    const project = join(workDir, 'project');
    await mkdir(project);
    await run('npm', ['init', '-y'], { cwd: project });
    try {
      // A quick look first: an unreachable registry answers at once here, where the install below
      // would spend its retries on every dependency before saying so.
      await run('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=10000', '--loglevel=error'], { cwd: project });
    } catch (error) {
      // Anything but a network failure (a mirror without the ping endpoint) is left to the install.
      if (offlineSetup(error) !== undefined) return;
    }
    try {
      // One install for every tarball: @modelriver/node's dependency on @modelriver/client must be
      // met by the client's tarball, not looked up on the registry.
      await run(
        'npm',
        ['install', ...NPM_INSTALL_FLAGS, ...packed.map((p) => p.tarball), ...requiredPeers()],
        { cwd: project, maxBuffer: 16 * 1024 * 1024 },
      );
      setup = { state: 'installed', project };
    } catch (error) {
      if (offlineSetup(error) === undefined) throw error;
    }
  }, SETUP_TIMEOUT_MS);

  /** Records an npm failure that means "no registry" (and says so once); else undefined. */
  function offlineSetup(error: unknown): Setup | undefined {
    const output = String((error as { stderr?: unknown }).stderr ?? error);
    const code = OFFLINE_CODES.exec(output)?.[0];
    if (code === undefined) return undefined;
    const reason = `the npm registry is unreachable (${code}): connect to the network or point npm at a reachable registry (npm config set registry <url>)`;
    setup = { state: 'offline', reason };
    if (!onCi) console.warn(`[pack.test] skipped: ${reason}`);
    return setup;
  }

  afterAll(async () => {
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  /** The installed project, or a skip (a failure under CI) when the registry was unreachable. */
  function installedProject(ctx: TestContext): string {
    if (setup === undefined) throw new Error('setup did not finish');
    if (setup.state === 'offline') {
      // CI must prove the packages install; a skip there would pass for the wrong reason.
      if (onCi) throw new Error(`required on CI: ${setup.reason}`);
      ctx.skip(setup.reason);
    }
    return setup.project;
  }

  it('finds the public packages (client and node at least)', () => {
    const names = packages.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['@modelriver/client', '@modelriver/node']));
    expect(names).not.toContain('@modelriver/test-utils');
  });

  describe.each(packages.map((pkg) => ({ pkg, name: pkg.name })))('$name', ({ pkg }) => {
    it('installs with real version ranges and its workspace dependencies from the tarballs', async (ctx) => {
      const project = installedProject(ctx);
      const installed = JSON.parse(
        await readFile(join(project, 'node_modules', ...pkg.name.split('/'), 'package.json'), 'utf8'),
      ) as Record<string, unknown>;
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        for (const [dep, range] of Object.entries((installed[field] ?? {}) as Record<string, string>)) {
          expect(range, `${field}.${dep}`).not.toMatch(/^workspace:/);
        }
      }
      const lock = JSON.parse(await readFile(join(project, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, { resolved?: string }>;
      };
      for (const sibling of packages) {
        const nested = lock.packages[`node_modules/${pkg.name}/node_modules/${sibling.name}`];
        expect(nested, `${pkg.name} got its own ${sibling.name} instead of the tarball's`).toBeUndefined();
      }
      expect(lock.packages[`node_modules/${pkg.name}`]?.resolved).toMatch(/^file:/);
    });

    it.for(entryPoints(pkg).filter((e) => e.esm))('imports $specifier as ESM', async ({ specifier }, ctx) => {
      const project = installedProject(ctx);
      const script = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)));`;
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
        cwd: project,
        timeout: IMPORT_TIMEOUT_MS,
      });
      expect((JSON.parse(stdout) as string[]).length).toBeGreaterThan(0);
    });

    it.for(entryPoints(pkg).filter((e) => e.cjs))('requires $specifier as CJS', async ({ specifier }, ctx) => {
      const project = installedProject(ctx);
      const script = `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(specifier)}))));`;
      const { stdout } = await run(process.execPath, ['--input-type=commonjs', '-e', script], {
        cwd: project,
        timeout: IMPORT_TIMEOUT_MS,
      });
      expect((JSON.parse(stdout) as string[]).length).toBeGreaterThan(0);
    });
  });
});
