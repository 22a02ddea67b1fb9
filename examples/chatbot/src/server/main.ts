/**
 * `npm run demo`: builds the frontend, starts the reference gateway (mock model, no keys) and the
 * backend, and prints the one URL to open. Every request prints a line as it flows. With
 * MODELRIVER_BASE_URL set it talks to that gateway (e.g. the hosted service) instead.
 *
 * Environment: PORT (default 3000), MOCK_TOKEN_DELAY_MS (default 30), MODELRIVER_BASE_URL,
 * MODELRIVER_API_KEY, MODELRIVER_WEBHOOK_SECRET, PUBLIC_URL (this backend as the gateway
 * reaches it), and the gateway's OPENAI_* / OPENAI_COMPATIBLE_* for a real model.
 */
import { join } from 'node:path';
import { startGateway } from '../../../gateway/src/gateway.js';
import { providersFromEnv } from '../../../gateway/src/providers/openai-compatible.js';
import { startChatbot, type Upstream } from './chatbot.js';
import { buildFrontend, CHATBOT_ROOT } from './frontend.js';

const env = process.env;
const color = process.stdout.isTTY && !env.NO_COLOR;
const dim = (text: string): string => (color ? `\x1b[2m${text}\x1b[0m` : text);
const bold = (text: string): string => (color ? `\x1b[1m${text}\x1b[0m` : text);
/** How long Ctrl-C waits for the servers to close before exiting regardless. */
const STOP_GRACE_MS = 2_000;

// Ctrl-C is how the demo ends: dying of SIGINT would make npm print an error banner for a
// normal stop, so it closes its servers and exits 0 instead.
const closers: Array<() => Promise<void>> = [];
let stopping = false;
const stop = (): void => {
  // The terminal signals every process of the group, and a runner may relay it once more.
  if (stopping) return;
  stopping = true;
  process.stdout.write(dim('\n  stopped\n'));
  const closed = Promise.allSettled(closers.map((close) => close()));
  const bounded = new Promise<void>((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref());
  void Promise.race([closed, bounded]).then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

try {
  const staticDir = join(CHATBOT_ROOT, 'dist');
  process.stdout.write(dim('  building the frontend…\n'));
  await buildFrontend({ outDir: staticDir });

  let upstream: Upstream;
  let where: string;
  if (env.MODELRIVER_BASE_URL) {
    if (!env.MODELRIVER_API_KEY || !env.MODELRIVER_WEBHOOK_SECRET) {
      throw new Error('with MODELRIVER_BASE_URL, set MODELRIVER_API_KEY and MODELRIVER_WEBHOOK_SECRET too');
    }
    upstream = { baseUrl: env.MODELRIVER_BASE_URL, apiKey: env.MODELRIVER_API_KEY, webhookSecret: env.MODELRIVER_WEBHOOK_SECRET };
    where = `gateway ${env.MODELRIVER_BASE_URL}`;
  } else {
    const envProviders = providersFromEnv(env);
    const gateway = await startGateway({ port: 0, mockTokenDelayMs: Number(env.MOCK_TOKEN_DELAY_MS ?? 30) }, { envProviders, env });
    closers.push(() => gateway.close());
    upstream = { baseUrl: gateway.url, apiKey: gateway.apiKey, webhookSecret: gateway.webhookSecret };
    where = `reference gateway ${gateway.url}, ${envProviders.length > 0 ? envProviders.map((p) => p.name).join(' + ') + ' then the mock model' : 'mock model, no keys'}`;
  }
  if (stopping) process.exit(0);

  const bot = await startChatbot({
    upstream,
    port: Number(env.PORT ?? 3000),
    ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
    staticDir,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  closers.push(() => bot.close());
  process.stdout.write(`\n${bold('ModelRiver chatbot')}  ${bold(bot.url)}\n${dim(`  ${where}`)}\n${dim('  open the URL in a browser; Ctrl-C to stop')}\n\n`);
} catch (error) {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') console.error(`chatbot: port ${env.PORT ?? 3000} is already in use; set PORT to another one (PORT=0 picks a free port)`);
  else console.error(`chatbot: cannot start: ${e.message ?? String(error)}`);
  for (const close of closers) await close().catch(() => undefined);
  process.exit(1);
}
