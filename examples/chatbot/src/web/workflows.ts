/**
 * The workflows the picker offers, and which one each answer came from (kept in localStorage
 * per conversation, so a reload or another tab renders a structured answer as a card).
 */
export const WORKFLOW_CHOICES = [
  { name: 'chat', label: 'Plain chat' },
  { name: 'chat-tools', label: 'Tool call' },
  { name: 'chat-failover', label: 'Failover mid-stream' },
  { name: 'chat-structured', label: 'Structured output' },
  { name: 'chat-event', label: 'Event-driven (backend calls back)' },
] as const;

export type WorkflowName = (typeof WORKFLOW_CHOICES)[number]['name'];

const key = (conversationId: string): string => `chatbot_${conversationId}_workflows`;

function read(conversationId: string): Record<string, WorkflowName> {
  try {
    return (JSON.parse(localStorage.getItem(key(conversationId)) ?? '{}') as Record<string, WorkflowName>) ?? {};
  } catch {
    return {};
  }
}

/**
 * Records the workflow of a channel.
 *
 * @example
 * ```ts
 * rememberWorkflow('c_1234', ack.channel_id, 'chat-structured');
 * ```
 */
export function rememberWorkflow(conversationId: string, channelId: string, workflow: WorkflowName): void {
  try {
    localStorage.setItem(key(conversationId), JSON.stringify({ ...read(conversationId), [channelId]: workflow }));
  } catch {
    // A full storage costs the card after a reload, not the answer.
  }
}

/**
 * The workflow a channel was started with, if known.
 *
 * @example
 * ```ts
 * const structured = workflowOf('c_1234', message.channelId) === 'chat-structured';
 * ```
 */
export function workflowOf(conversationId: string, channelId: string | null | undefined): WorkflowName | undefined {
  return channelId ? read(conversationId)[channelId] : undefined;
}
