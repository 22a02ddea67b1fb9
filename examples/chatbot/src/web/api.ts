/**
 * The browser's calls to its own backend (never to the gateway: the API key stays on the server).
 */
import type { ChatMessage } from '@modelriver/react';
import type { RequestLog } from '@modelriver/node';
import { rememberWorkflow, type WorkflowName } from './workflows.js';

/** The async ack as the backend relays it; `useModelRiverChat` connects to it. */
export interface Ack {
  channel_id: string;
  ws_token: string;
  websocket_url: string;
  websocket_channel: string;
}

async function readJson<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => null)) as (T & { error?: { code: string; message: string } }) | null;
  if (!res.ok || body === null) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

/**
 * Asks the backend for an answer to the conversation so far.
 *
 * @example
 * ```ts
 * const ack = await startChat('chat', 'c_1234', messages);
 * ```
 */
export async function startChat(workflow: WorkflowName, conversationId: string, messages: ChatMessage[]): Promise<Ack> {
  // Answers that were stopped before their first token have nothing to add to the history.
  const history = messages.filter((m) => m.content.trim() !== '').map(({ role, content }) => ({ role, content }));
  const res = await fetch('/api/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflow, conversationId, messages: history }),
  });
  const ack = await readJson<Ack>(res);
  rememberWorkflow(conversationId, ack.channel_id, workflow);
  return ack;
}

/**
 * A request's log (attempts, failover, webhook deliveries, callback, timeline), through the backend.
 *
 * @example
 * ```ts
 * const log = await fetchRequestLog(message.channelId);
 * ```
 */
export async function fetchRequestLog(channelId: string): Promise<RequestLog> {
  return readJson<RequestLog>(await fetch(`/api/requests/${encodeURIComponent(channelId)}`));
}
