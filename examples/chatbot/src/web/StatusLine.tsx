/**
 * The live status of the current answer, as a trail of what the gateway said:
 * queued → processing → failover → ai_generated → awaiting callback → completed. Built from the
 * `status` and `response` events (each one, not a per-frame sample, so no step is skipped).
 */
import { useRef, useState } from 'react';
import type { ModelRiverClient } from '@modelriver/client';
import { useModelRiver } from '@modelriver/react';

interface Trail {
  channelId: string | null;
  steps: string[];
}

const label = (status: string): string => status.replace(/_/g, ' ').replace('ai generated', 'ai_generated');

export function StatusLine() {
  const [trail, setTrail] = useState<Trail>({ channelId: null, steps: [] });
  const client = useRef<ModelRiverClient | null>(null);
  const push = (status: string): void => {
    const channelId = client.current?.getState().channelId ?? null;
    setTrail((t) => {
      const steps = t.channelId === channelId ? t.steps : [];
      return steps[steps.length - 1] === status ? t : { channelId, steps: [...steps, status] };
    });
  };
  const state = useModelRiver({ onStatus: (e) => push(e.status), onResponse: (r) => push(r.status) });
  client.current = state.client;
  const steps = trail.channelId === state.channelId ? trail.steps : [];
  if (state.channelId === null) return <p className="status-line" data-testid="status-line" />;
  return (
    <p className="status-line" data-testid="status-line" aria-label="Status">
      {steps.length === 0 ? label(state.status) : steps.map(label).join(' → ')}
      {state.lastStatus?.provider && !['success', 'completed', 'error', 'cancelled'].includes(state.status) ? ` · ${state.lastStatus.provider}` : ''}
    </p>
  );
}
