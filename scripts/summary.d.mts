// Types for scripts/summary.mjs, so the TypeScript test that feeds it fixtures typechecks.

/** One test in vitest's JSON report. */
export interface VitestAssertionResult {
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo' | 'disabled' | string;
  fullName?: string;
  failureMessages?: string[];
}

/** One test file in vitest's JSON report. */
export interface VitestFileResult {
  name: string;
  status: 'passed' | 'failed' | string;
  /** Why the file failed outside its tests (an import error, a throwing hook), else ''. */
  message?: string;
  assertionResults?: VitestAssertionResult[];
}

/** The part of vitest's `--reporter=json` output the summary reads. */
export interface VitestJsonReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numTotalTests?: number;
  success?: boolean;
  testResults: VitestFileResult[];
}

/** What the closing line reports, plus one note per failure vitest's totals leave out. */
export interface TestSummary {
  passed: number;
  failed: number;
  skipped: number;
  notes: string[];
}

export declare function summarizeVitest(
  report: VitestJsonReport | undefined,
  run: { exitCode: number | null; root?: string },
): TestSummary;

export declare function formatClosingLine(summary: Pick<TestSummary, 'passed' | 'failed' | 'skipped'>): string;
