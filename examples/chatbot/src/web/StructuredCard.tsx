/**
 * A structured answer (the `chat-structured` workflow's schema) as a card. `data` is the object
 * parsed so far while the JSON streams, so `reply` grows first and the rest fills in after it.
 */

/** The workflow's output, every field possibly missing while it streams. */
export interface Structured {
  reply?: string;
  summary?: string;
  sentiment?: string;
  confidence?: number;
  topics?: string[];
  action_items?: Array<{ task?: string; priority?: string }>;
}

export function StructuredCard({ data, streaming }: { data: Structured | null | undefined; streaming: boolean }) {
  const d = data ?? {};
  return (
    <article className="card" data-testid="card" aria-live="polite" aria-busy={streaming}>
      <p className="card-reply" data-testid="card-reply">{d.reply ?? ''}</p>
      <dl>
        <dt>Sentiment</dt>
        <dd data-testid="card-sentiment">
          {d.sentiment ?? '…'}
          {typeof d.confidence === 'number' ? ` (${Math.round(d.confidence * 100)}% confident)` : ''}
        </dd>
        <dt>Topics</dt>
        <dd data-testid="card-topics">{d.topics?.length ? d.topics.map((t, i) => <span key={i} className="chip">{t}</span>) : '…'}</dd>
        <dt>Action items</dt>
        <dd>
          <ul data-testid="card-actions">
            {(d.action_items ?? []).map((a, i) => (
              <li key={i}>
                <span className={`priority ${a.priority ?? ''}`}>{a.priority ?? '…'}</span> {a.task ?? ''}
              </li>
            ))}
          </ul>
        </dd>
      </dl>
    </article>
  );
}
