/**
 * The event-driven step in one handler: the gateway's signed webhook is verified by
 * `createWebhookHandler`, `onAiGenerated` adds the backend's own ids to the model's result, and
 * the handler posts that to the gateway's callback before answering the webhook. Completed and
 * failed requests are only logged; a tampered delivery is refused (400) and logged.
 */
import { createWebhookHandler, ModelRiverError, type ModelRiver, type WebhookHandler } from '@modelriver/node';

/** Options of {@link createWebhookEndpoint}. */
export interface WebhookEndpointOptions {
  modelRiver: ModelRiver;
  secret: string;
  log: (line: string) => void;
}

const short = (channelId: string): string => channelId.slice(0, 8);
const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

/**
 * The webhook handler for `webhookMiddleware({ handler })`.
 *
 * @example
 * ```ts
 * app.post('/webhooks/modelriver', webhookMiddleware({ handler: createWebhookEndpoint({ modelRiver, secret, log: console.log }) }));
 * ```
 */
export function createWebhookEndpoint(options: WebhookEndpointOptions): WebhookHandler {
  const { log } = options;
  let records = 0;
  return createWebhookHandler({
    secret: options.secret,
    client: options.modelRiver,
    onAiGenerated: (event) => {
      // Where a real app would save the answer and attach what only it knows (an order, a ticket).
      const recordId = `rec_${(++records).toString().padStart(4, '0')}`;
      const { conversationId, messageId } = event.customer_data as { conversationId?: unknown; messageId?: unknown };
      const data = {
        ...asRecord(event.ai_response.data),
        conversation_id: typeof conversationId === 'string' ? conversationId : null,
        message_id: typeof messageId === 'string' ? messageId : null,
        record_id: recordId,
      };
      log(`  ↳ ${short(event.channel_id)} webhook ${event.type} verified: calling back with ${recordId}`);
      return { data, task_id: recordId, metadata: { saved_by: 'chatbot-backend' } };
    },
    onCompleted: (event) => {
      const meta = event.meta;
      const chain = meta.attempts?.map((a) => a.provider).join(' → ') ?? meta.provider ?? '?';
      log(`✓ ${short(event.channel_id)} ${event.workflow}: ${event.status} (${chain}, ${meta.usage?.total_tokens ?? '?'} tokens)`);
    },
    onFailed: (event) => log(`✗ ${short(event.channel_id)} ${event.workflow}: ${event.status}${event.error ? ` (${event.error.code})` : ''}`),
    onError: (error, event) => {
      const code = error instanceof ModelRiverError ? error.code : 'error';
      const what = event === undefined ? 'rejected a webhook' : `${short(event.channel_id)} webhook ${event.type} failed`;
      log(`  ✗ ${what}: ${code}${error instanceof Error ? `: ${error.message}` : ''}`);
    },
  });
}
