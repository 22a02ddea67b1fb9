/**
 * The closing line of `npm test` (scripts/summary.mjs), fed with real vitest 4 JSON reports
 * (trimmed to the fields it reads; file names rewritten to /repo). Each fixture came from a
 * small project run with `vitest run --reporter=json`:
 * - green: two passing tests, a todo and a `describe.skipIf(true)` suite of two;
 * - load-failure: the same plus a file whose import does not resolve;
 * - mixed: a failing test, a file that throws while loading, a file whose afterAll throws;
 * - unhandled-error: two passing tests and an error thrown after the test (vitest exits 1, yet
 *   its report says success);
 * - hook-failure: a passing file, and a describe whose beforeAll throws (its two tests skipped).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatClosingLine, summarizeVitest, type VitestJsonReport } from '../../scripts/summary.mjs';

const fixture = (name: string): VitestJsonReport =>
  JSON.parse(readFileSync(new URL(`./fixtures/vitest-${name}.json`, import.meta.url), 'utf8')) as VitestJsonReport;

describe('summarizeVitest', () => {
  it('counts a green run, skipped suites and todos as skipped', () => {
    const summary = summarizeVitest(fixture('green'), { exitCode: 0, root: '/repo' });
    expect(summary).toEqual({ passed: 2, failed: 0, skipped: 3, notes: [] });
    expect(formatClosingLine(summary)).toBe('tests: 2 passed, 0 failed, 3 skipped');
  });

  it('counts a suite that failed to load as one failed test', () => {
    const report = fixture('load-failure');
    // The bug: vitest's own totals say nothing failed.
    expect(report.numFailedTests).toBe(0);
    const summary = summarizeVitest(report, { exitCode: 1, root: '/repo' });
    expect(formatClosingLine(summary)).toBe('tests: 2 passed, 1 failed, 3 skipped');
    expect(summary.notes).toEqual([
      "failed to load: tests/broken-import.test.ts: Cannot find module './no-such-module.js' imported from /repo/tests/broken-import.test.ts",
    ]);
  });

  it('adds files that throw while loading or in a hook to the failed tests, once each', () => {
    const summary = summarizeVitest(fixture('mixed'), { exitCode: 1, root: '/repo' });
    expect(formatClosingLine(summary)).toBe('tests: 2 passed, 3 failed, 1 skipped');
    expect(summary.notes).toEqual([
      'failed outside its tests: tests/hook.test.ts: cleanup failed',
      'failed to load: tests/throws-at-load.test.ts: config missing',
    ]);
  });

  it('counts a describe whose beforeAll failed as one failed test', () => {
    const report = fixture('hook-failure');
    expect(report.numFailedTests).toBe(0);
    const summary = summarizeVitest(report, { exitCode: 1, root: '/repo' });
    expect(formatClosingLine(summary)).toBe('tests: 1 passed, 1 failed, 2 skipped');
    expect(summary.notes).toEqual([
      'failed outside its tests: tests/needs-server.test.ts: a hook failed (its error is printed above)',
    ]);
  });

  it('counts one failure when vitest exits non-zero with nothing failed in its report', () => {
    const report = fixture('unhandled-error');
    expect(report.success).toBe(true);
    const summary = summarizeVitest(report, { exitCode: 1 });
    expect(formatClosingLine(summary)).toBe('tests: 2 passed, 1 failed, 0 skipped');
    expect(summary.notes[0]).toMatch(/exited with 1/);
    // The same report with a clean exit is a clean run.
    expect(summarizeVitest(report, { exitCode: 0 }).failed).toBe(0);
  });

  it('reports one failure when vitest wrote no report or was killed', () => {
    expect(summarizeVitest(undefined, { exitCode: 1 })).toMatchObject({ passed: 0, failed: 1, skipped: 0 });
    expect(summarizeVitest(undefined, { exitCode: null }).notes[0]).toMatch(/no JSON report/);
  });

  it('fails a run that found no test at all', () => {
    const empty: VitestJsonReport = {
      numPassedTests: 0,
      numFailedTests: 0,
      numPendingTests: 0,
      numTodoTests: 0,
      success: true,
      testResults: [],
    };
    expect(summarizeVitest(empty, { exitCode: 0 })).toMatchObject({ failed: 1, notes: ['vitest ran no test at all'] });
  });
});
