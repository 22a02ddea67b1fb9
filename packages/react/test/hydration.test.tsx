// @vitest-environment jsdom
import { act, render, waitFor } from '@testing-library/react';
import { hydrateRoot } from 'react-dom/client';
import { renderToString } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { createMemoryStorage } from '@modelriver/client';
import { useModelRiver } from '@modelriver/react';
import { autoFrames, clientOptions, startGateway } from './helpers.js';

describe('hydration', () => {
  it('matches the server HTML, then shows the text a reload restored and resumes it', async () => {
    autoFrames();
    const gw = await startGateway();
    const ch = gw.createChannel();
    const storage = createMemoryStorage();
    // A page that was streaming when it was reloaded: unmounting keeps its request persisted.
    function Streaming() {
      const r = useModelRiver({ ...clientOptions({ storage }), request: gw.connectOptions(ch) });
      return <p>{r.text}</p>;
    }
    const joined = ch.waitForJoin();
    const before = render(<Streaming />);
    const conn = await joined;
    ch.tokens('restored ');
    await waitFor(() => expect(before.container.textContent).toBe('restored '), { timeout: 10_000 });
    const closed = conn.waitForClose();
    before.unmount();
    await closed;
    expect(storage.getItem('modelriver_active_request')).not.toBeNull();

    function Page() {
      const r = useModelRiver(clientOptions({ storage }));
      return <p id="text">{r.text || 'empty'}</p>;
    }
    const container = document.createElement('div');
    container.innerHTML = renderToString(<Page />);
    expect(container.textContent).toBe('empty');
    document.body.appendChild(container);
    const recoverable = vi.fn();
    const rejoined = ch.waitForJoin();
    await act(async () => {
      hydrateRoot(container, <Page />, { onRecoverableError: recoverable });
    });
    expect(recoverable).not.toHaveBeenCalled();
    await waitFor(() => expect(container.textContent).toBe('restored '), { timeout: 10_000 });
    await rejoined;
    ch.tokens('and resumed');
    await waitFor(() => expect(container.textContent).toBe('restored and resumed'), { timeout: 10_000 });
  });
});
