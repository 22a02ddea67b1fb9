/** First-token time, duration, tokens and the provider chain of one answer. */
import type { ChatMessage } from '@modelriver/react';
import type { RequestLog } from '@modelriver/node';

const ms = (value: number | null | undefined): string => (value == null ? '–' : `${Math.round(value)} ms`);

export function ReplyMetrics({ message, log }: { message: ChatMessage; log: RequestLog | null }) {
  const m = message.metrics;
  if (m === undefined) return null;
  const chain = log?.attempts.map((a) => `${a.provider}${a.status === 'success' ? '' : ` (${a.status})`}`).join(' → ');
  return (
    <p className="metrics" data-testid="metrics">
      first token {ms(m.ttftMs)} · {ms(m.durationMs)} · {m.tokenCount} tokens
      {chain ? <span data-testid="providers"> · {chain}</span> : null}
    </p>
  );
}
