// The whole test run behind `npm test` (after scripts/setup.mjs): typecheck, every vitest test,
// package lint. Ends with one plain summary line, `tests: N passed, N failed, N skipped`.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, 'test-results', 'vitest.json');
mkdirSync(dirname(results), { recursive: true });

const step = (title, cmd, args) => {
  console.log(`\n== ${title}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' }).status ?? 1;
};
const pnpm = join(root, 'node_modules', '.bin', 'pnpm');

let failed = step('typecheck', pnpm, ['run', 'typecheck']);
const vitest = step('tests', join(root, 'node_modules', '.bin', 'vitest'), [
  'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`,
]);
failed ||= vitest;
failed ||= step('package lint (publint, attw)', pnpm, ['run', 'lint:packages']);

try {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\ntests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) failed ||= 1;
} catch {
  console.log('\ntests: 0 passed, 1 failed');
  failed ||= 1;
}
process.exit(failed ? 1 : 0);
