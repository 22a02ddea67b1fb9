import { describe, expect, it } from 'vitest';
import { readProgress } from '../src/runner/progress.js';

describe('readProgress (what a node taking a request over continues from)', () => {
  it('keeps all the text as content, and the text of the attempt under way as the prefix', () => {
    const progress = readProgress([
      { event: 'status', payload: { status: 'queued' } },
      { event: 'status', payload: { status: 'processing', provider: 'a', attempt: 1 } },
      { event: 'tokens', payload: { delta: 'Hel' } },
      { event: 'status', payload: { status: 'failover', provider: 'b', attempt: 2, reason: 'provider_error' } },
      { event: 'tokens', payload: { delta: 'lo ' } },
      { event: 'tool_call', payload: { index: 2, arguments: '{}' } },
      { event: 'tokens', payload: { delta: 'wor' } },
    ]);
    expect(progress).toEqual({
      content: 'Hello wor',
      output: 'lo wor',
      lastAttempt: { status: 'failover', provider: 'b', attempt: 2, reason: 'provider_error' },
      lastResponse: null,
      toolIndexBase: 3,
    });
  });

  it('finds the latest response, and ignores deltas that are not strings', () => {
    const progress = readProgress([
      { event: 'tokens', payload: { delta: 42 } },
      { event: 'response', payload: { status: 'ai_generated' } },
    ]);
    expect(progress.content).toBe('');
    expect(progress.lastResponse).toEqual({ status: 'ai_generated' });
  });
});
