// @vitest-environment node
import { render } from 'svelte/server';
import { get } from 'svelte/store';
import { describe, expect, it, vi } from 'vitest';
import { createModelRiver } from '@modelriver/svelte';
import StoreAnswer from './components/StoreAnswer.svelte';
import { spyStorage } from './helpers.js';

describe('server rendering (Svelte)', () => {
  it('renders the initial state without touching window, WebSocket or storage', () => {
    expect(typeof window).toBe('undefined');
    const storage = spyStorage();
    const WebSocket = vi.fn();
    const { body } = render(StoreAnswer, { props: { options: { storage, WebSocket: WebSocket as never } } });
    expect(body).toContain('<p data-testid="status">idle</p>');
    const river = createModelRiver({ storage, WebSocket: WebSocket as never });
    river.connect({ channel_id: 'c', ws_token: 't' });
    expect(get(river.status)).toBe('idle');
    expect(river.getClient()).toBeNull();
    expect(storage.calls).toEqual([]);
    expect(WebSocket).not.toHaveBeenCalled();
  });
});
