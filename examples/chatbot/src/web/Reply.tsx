/**
 * One assistant answer: its text streaming into an `aria-live` region (or, for structured output,
 * a card), tool calls, the backend's ids on an event-driven answer, metrics, and its request log.
 */
import type { ChatMessage } from '@modelriver/react';
import { ReplyMetrics } from './ReplyMetrics.js';
import { RequestTimeline } from './RequestTimeline.js';
import { StructuredCard, type Structured } from './StructuredCard.js';
import { useRequestLog } from './use-request-log.js';
import { workflowOf } from './workflows.js';

const TERMINAL = new Set(['success', 'completed', 'error', 'cancelled']);

export function Reply({ message, conversationId }: { message: ChatMessage; conversationId: string }) {
  const finished = TERMINAL.has(message.status ?? '');
  const workflow = workflowOf(conversationId, message.channelId);
  const structured = workflow === 'chat-structured';
  const [log, refreshLog] = useRequestLog(message.channelId, finished);
  const data = (typeof message.data === 'object' && message.data !== null ? message.data : {}) as Record<string, unknown>;
  const enriched = typeof data.record_id === 'string';
  return (
    <li className={`message assistant ${message.status ?? ''}`} data-testid="message" data-role="assistant" data-status={message.status} data-channel={message.channelId ?? ''}>
      {message.toolCalls?.map((call) => (
        <p key={call.index} className="tool-call" data-testid="tool-call">
          tool: {call.name}({call.argumentsText})
        </p>
      ))}
      {structured ? (
        <>
          <StructuredCard data={message.data as Structured | null | undefined} streaming={!finished} />
          <details className="raw">
            <summary>JSON</summary>
            <pre data-testid="reply-text">{message.content}</pre>
          </details>
        </>
      ) : (
        <div className="reply-text" data-testid="reply-text" aria-live="polite" aria-busy={!finished}>
          {message.content}
          {!finished && <span className="cursor" aria-hidden="true" />}
        </div>
      )}
      {enriched && (
        <dl className="enriched" data-testid="enriched">
          <dt>record</dt>
          <dd>{String(data.record_id)}</dd>
          <dt>message</dt>
          <dd>{String(data.message_id)}</dd>
          <dt>conversation</dt>
          <dd>{String(data.conversation_id)}</dd>
        </dl>
      )}
      {message.status === 'error' && <p className="error">{message.error}</p>}
      {message.status === 'cancelled' && <p className="note">Stopped.</p>}
      <ReplyMetrics message={message} log={log} />
      {finished && message.channelId && <RequestTimeline log={log} onOpen={refreshLog} />}
    </li>
  );
}
