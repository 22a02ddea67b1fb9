// Brings a fresh clone (Node 20 + npm only) to a runnable state: installs pnpm
// through npx, installs the workspace from the lockfile, builds the packages.
// Idempotent and quick when everything is already in place.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// An unsupported Node gets through the install and then fails inside vitest/vite with an obscure
// ESM error; say so up front. The same range as the root package.json's "engines" (vite's own).
const [major, minor] = process.versions.node.split('.').map(Number);
const supported = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major > 22;
if (!supported) {
  console.error(
    `setup: this is Node ${process.versions.node}, but the workspace needs Node ^20.19.0 || >=22.12.0 (vitest 4 and vite require it).\n` +
      '       Install a newer Node (e.g. `nvm install 22`) and run again.',
  );
  process.exit(1);
}

const PNPM = 'pnpm@10.34.8';
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, npm_config_yes: 'true' } });

const lockfile = existsSync(join(root, 'pnpm-lock.yaml'));
run('npx', ['--yes', PNPM, 'install', ...(lockfile ? ['--frozen-lockfile'] : []), '--reporter=append-only']);
run('npx', ['--yes', PNPM, 'run', '--silent', 'build']);
