// The closing line of `npm test`, counted from vitest's JSON report. Kept apart from
// scripts/test.mjs so the counting is unit-tested (tests/scripts/summary.test.ts).
//
// Vitest's own totals only count tests. A test file that fails to import (or throws while it
// loads, or whose hook fails) has no failing test, so those totals read "0 failed" while the run
// exits 1. Each such file counts here as one failed test, and a run that vitest ended non-zero
// with nothing failed in the report (an unhandled error outside any test) counts as one more.

/**
 * Counts passed, failed and skipped tests from a vitest JSON report, so that the counts agree
 * with vitest's exit code.
 *
 * @param {import('./summary.d.mts').VitestJsonReport | undefined} report the parsed
 *   `--reporter=json` output, or `undefined` when vitest wrote none
 * @param {{ exitCode: number | null, root?: string }} run vitest's exit code (null when it was
 *   killed); `root` is stripped from file names in the notes
 * @returns {import('./summary.d.mts').TestSummary}
 * @example
 * ```js
 * const summary = summarizeVitest(JSON.parse(readFileSync('test-results/vitest.json', 'utf8')), { exitCode: 1 });
 * console.log(formatClosingLine(summary)); // tests: 916 passed, 1 failed, 12 skipped
 * ```
 */
export function summarizeVitest(report, run) {
  const vitestFailed = run.exitCode !== 0;
  if (report === undefined || !Array.isArray(report.testResults)) {
    return {
      passed: 0,
      failed: 1,
      skipped: 0,
      notes: [`vitest wrote no JSON report (exit code ${String(run.exitCode)}): see its output above`],
    };
  }
  const display = (name) => relativeName(name, run.root);
  const notes = [];
  let brokenFiles = 0;
  for (const file of report.testResults) {
    if (file.status !== 'failed') continue;
    const tests = file.assertionResults ?? [];
    if (tests.some((t) => t.status === 'failed')) continue;
    brokenFiles += 1;
    // A hook that fails inside a describe leaves the file's message empty; its error is printed above.
    const why = firstLine(file.message) || 'a hook failed (its error is printed above)';
    notes.push(tests.length === 0 ? `failed to load: ${display(file.name)}: ${why}` : `failed outside its tests: ${display(file.name)}: ${why}`);
  }

  const passed = count(report.numPassedTests);
  let failed = count(report.numFailedTests) + brokenFiles;
  const skipped = count(report.numPendingTests) + count(report.numTodoTests);

  if (failed === 0 && (vitestFailed || report.success === false)) {
    failed = 1;
    notes.push(`vitest exited with ${String(run.exitCode)} although no test failed (an error outside any test): see its output above`);
  }
  if (passed + failed + skipped === 0) {
    // A run that found no test at all passes for the wrong reason (a broken include pattern).
    failed = 1;
    notes.push('vitest ran no test at all');
  }
  return { passed, failed, skipped, notes };
}

/**
 * The one plain line `npm test` ends with.
 *
 * @param {Pick<import('./summary.d.mts').TestSummary, 'passed' | 'failed' | 'skipped'>} summary
 * @returns {string}
 * @example
 * ```js
 * formatClosingLine({ passed: 3, failed: 0, skipped: 1 }); // 'tests: 3 passed, 0 failed, 1 skipped'
 * ```
 */
export function formatClosingLine(summary) {
  return `tests: ${summary.passed} passed, ${summary.failed} failed, ${summary.skipped} skipped`;
}

function count(value) {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function firstLine(message) {
  return typeof message === 'string' ? (message.split('\n')[0] ?? '').trim() : '';
}

function relativeName(name, root) {
  if (typeof name !== 'string') return '(unnamed file)';
  if (root === undefined) return name;
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}
