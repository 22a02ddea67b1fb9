// The whole test run behind `npm test` (after scripts/setup.mjs): typecheck, every vitest test,
// package lint. Every step runs even when an earlier one failed, so one run reports everything
// that is wrong. Ends with one plain summary line, `tests: N passed, N failed, N skipped`
// (counted by scripts/summary.mjs); the exit code is non-zero when any step failed.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { formatClosingLine, summarizeVitest } from './summary.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const results = join(root, 'test-results', 'vitest.json');
mkdirSync(dirname(results), { recursive: true });
// A report left by an earlier run would be read as this run's when vitest crashes before writing.
rmSync(results, { force: true });

const step = (title, cmd, args) => {
  console.log(`\n== ${title}`);
  const run = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (run.error) console.error(`${title}: could not start ${cmd}: ${run.error.message}`);
  return { title, exitCode: run.status };
};
const bin = (name) => join(root, 'node_modules', '.bin', name);

const typecheck = step('typecheck', bin('pnpm'), ['run', 'typecheck']);
const tests = step('tests', bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`]);
const lint = step('package lint (publint, attw)', bin('pnpm'), ['run', 'lint:packages']);

let report;
try {
  report = JSON.parse(readFileSync(results, 'utf8'));
} catch {
  report = undefined;
}
const summary = summarizeVitest(report, { exitCode: tests.exitCode, root });

console.log('\n== summary');
for (const { title, exitCode } of [typecheck, tests, lint]) {
  console.log(`${title}: ${exitCode === 0 ? 'passed' : `FAILED (exit code ${String(exitCode)})`}`);
}
for (const note of summary.notes) console.log(note);
console.log(`\n${formatClosingLine(summary)}`);

const anyFailed = [typecheck, tests, lint].some((s) => s.exitCode !== 0) || summary.failed > 0;
process.exit(anyFailed ? 1 : 0);
