// Brings a fresh clone (Node 20 + npm only) to a runnable state: installs pnpm
// through npx, installs the workspace from the lockfile, builds the packages.
// Idempotent and quick when everything is already in place.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PNPM = 'pnpm@10.34.8';
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, npm_config_yes: 'true' } });

const lockfile = existsSync(join(root, 'pnpm-lock.yaml'));
run('npx', ['--yes', PNPM, 'install', ...(lockfile ? ['--frozen-lockfile'] : []), '--reporter=append-only']);
run('npx', ['--yes', PNPM, 'run', '--silent', 'build']);
