/**
 * The process exit codes of `modelriver`, documented in the README. Scripts switch on them, so
 * they never change meaning.
 */
export const ExitCode = {
  /** The command did what it was asked (a watched request ended `success` or `completed`). */
  ok: 0,
  /** The command ran but the outcome is a failure: a watched request ended `error` or `cancelled`. */
  failed: 1,
  /** Bad input: an unknown flag, a missing API key, a malformed `--payload` or URL. */
  usage: 2,
  /** The gateway refused the API key (401). */
  unauthorized: 3,
  /** The gateway could not be reached (connection refused, DNS, timeout). */
  unreachable: 4,
  /** The channel, workflow or dead letter does not exist for this key (404). */
  notFound: 5,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
