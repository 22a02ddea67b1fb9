/**
 * The request log as a timeline, in a disclosure: every step the gateway recorded (attempts,
 * failover, webhook deliveries with each attempt, the callback). Opening it fetches it again.
 */
import type { RequestLog } from '@modelriver/node';

function describe(entry: RequestLog['timeline'][number]): string {
  const { at: _at, event, ...rest } = entry;
  const details = Object.entries(rest)
    .filter(([, v]) => v !== undefined && v !== null && typeof v !== 'object')
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return details ? `${event} ${details}` : event;
}

export function RequestTimeline({ log, onOpen }: { log: RequestLog | null; onOpen: () => void }) {
  const start = log ? Date.parse(log.created_at) : 0;
  return (
    <details className="timeline" onToggle={(e) => (e.currentTarget.open ? onOpen() : undefined)}>
      <summary>Details</summary>
      {log === null ? (
        <p>Loading…</p>
      ) : (
        <>
          <ol data-testid="timeline">
            {log.timeline.map((entry, i) => (
              <li key={i}>
                <time>+{Date.parse(entry.at) - start} ms</time> {describe(entry)}
              </li>
            ))}
          </ol>
          {log.webhooks.length > 0 && (
            <ul className="webhooks">
              {log.webhooks.map((w) => (
                <li key={w.id}>
                  webhook {w.type}: {w.state}
                  {w.attempts.map((a) => ` · #${a.attempt} ${a.status ?? a.error ?? ''} in ${a.duration_ms} ms`).join('')}
                </li>
              ))}
            </ul>
          )}
          {log.callback && (
            <p>
              callback: {log.callback.status}
              {log.callback.received_at ? ` at +${Date.parse(log.callback.received_at) - start} ms` : ''}
            </p>
          )}
        </>
      )}
    </details>
  );
}
