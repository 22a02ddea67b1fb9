// @vitest-environment node
import { renderToString } from 'react-dom/server';
import { describe, expect, it, vi } from 'vitest';
import { ModelRiverProvider, useModelRiver, useModelRiverChat } from '@modelriver/react';
import { spyStorage } from './helpers.js';

describe('server rendering', () => {
  it('renders the initial state without touching window, WebSocket or storage', () => {
    expect(typeof window).toBe('undefined');
    const storage = spyStorage();
    const WebSocket = vi.fn();
    const start = vi.fn();
    function Page() {
      const r = useModelRiver({ storage, WebSocket: WebSocket as never, request: { channel_id: 'c', ws_token: 't' } });
      const chat = useModelRiverChat({ storage, WebSocket: WebSocket as never, start });
      return (
        <p>
          {r.status}|{r.text}|{String(r.isConnected)}|{chat.messages.length}|{chat.status}
        </p>
      );
    }
    const html = renderToString(
      <>
        <Page />
        <ModelRiverProvider options={{ storage, WebSocket: WebSocket as never }}>
          <Page />
        </ModelRiverProvider>
      </>,
    );
    expect(html.replace(/<!-- -->/g, '')).toBe('<p>idle||false|0|idle</p><p>idle||false|0|idle</p>');
    expect(storage.calls).toEqual([]);
    expect(WebSocket).not.toHaveBeenCalled();
    expect(start).not.toHaveBeenCalled();
  });
});
