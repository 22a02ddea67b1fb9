/** The `modelriver` executable: the process around {@link run}. */
import { run } from './program.js';

const controller = new AbortController();
// The first Ctrl-C stops `listen`/`watch` cleanly; a second one exits at once.
process.once('SIGINT', () => {
  controller.abort();
  process.once('SIGINT', () => process.exit(130));
});
process.once('SIGTERM', () => controller.abort());

const code = await run(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  isTTY: process.stdout.isTTY === true,
  signal: controller.signal,
});
process.exitCode = code;
// Sockets and keep-alive connections must not hold the process once the command is done.
setImmediate(() => process.exit(code));
