/** The text `npm run gateway` prints at start-up. */
import type { LoadedConfig } from './config.js';
import type { RunningGateway } from './gateway.js';
import type { Provider } from './providers/provider.js';
import { redactUrl } from './store/redis.js';

/**
 * The start-up banner: where to connect, with which key and secret, and what workflows exist.
 *
 * @example
 * ```ts
 * console.log(banner(gateway, loaded, []));
 * ```
 */
export function banner(gateway: RunningGateway, loaded: LoadedConfig, envProviders: Provider[]): string {
  const lines = [
    '',
    `ModelRiver reference gateway listening on ${gateway.url}`,
    `  HTTP API        ${gateway.url}/v1/ai/async   (health: ${gateway.url}/health)`,
    `  WebSocket       ${gateway.wsUrl}`,
    `  project_id      ${gateway.projectId}`,
    `  API key         ${gateway.apiKey}${loaded.devApiKey ? '   (development default; set MODELRIVER_API_KEY)' : ''}`,
    `  webhook secret  ${gateway.webhookSecret}${loaded.devWebhookSecret ? '   (development default, public: set MODELRIVER_WEBHOOK_SECRET)' : ''}`,
    ...gateway.projects.slice(1).map((p) => `  project         ${p.id}  ${p.name}: ${p.apiKeys.length} key(s)`),
    `  config file     ${loaded.file ?? '(none)'}`,
    `  mock delay      ${gateway.config.mockTokenDelayMs} ms/token`,
    gateway.storage === 'redis'
      ? `  storage         Redis ${redactUrl(gateway.config.redisUrl ?? '')} (prefix ${gateway.config.redisKeyPrefix}), node ${gateway.nodeId}`
      : '  storage         this process (set MODELRIVER_REDIS_URL to share it between nodes and keep it across restarts)',
    envProviders.length > 0
      ? `  real providers  ${envProviders.map((p) => `${p.name} (${p.model})`).join(', ')}${gateway.config.mockFallback ? ', mock as fallback' : ''}`
      : '  real providers  none (set OPENAI_API_KEY or OPENAI_COMPATIBLE_BASE_URL to add one)',
    '',
    'Workflows:',
    ...[...gateway.workflows.values()].map(
      (w) => `  ${w.name.padEnd(16)} ${w.description}  [${w.providers.map((p) => p.name).join(' → ')}]`,
    ),
    '',
    'Try:',
    `  curl -s ${gateway.url}/v1/ai -H 'Authorization: Bearer ${gateway.apiKey}' -H 'Content-Type: application/json' \\`,
    `    -d '{"workflow":"chat","messages":[{"role":"user","content":"Hello"}]}'`,
    '',
    gateway.storage === 'redis'
      ? 'State is in Redis: other nodes on the same Redis serve the same channels, and a restart loses nothing. Ctrl-C stops.'
      : 'Everything is in memory: channels, logs, tokens and dead letters are lost on restart. Ctrl-C stops.',
    '',
  ];
  return lines.join('\n');
}

