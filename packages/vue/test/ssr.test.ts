// @vitest-environment node
import { createSSRApp, defineComponent, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { describe, expect, it, vi } from 'vitest';
import { useModelRiver } from '@modelriver/vue';
import { spyStorage } from './helpers.js';

describe('server rendering (Vue)', () => {
  it('renders the initial state without touching window, WebSocket or storage', async () => {
    expect(typeof window).toBe('undefined');
    const storage = spyStorage();
    const WebSocket = vi.fn();
    const Page = defineComponent({
      setup() {
        const r = useModelRiver({ storage, WebSocket: WebSocket as never, request: { channel_id: 'c', ws_token: 't' } });
        return () => h('p', `${r.status.value}|${r.text.value}|${String(r.isConnected.value)}|${String(r.hasPendingRequest.value)}|${String(r.client)}`);
      },
    });
    const html = await renderToString(createSSRApp(Page));
    expect(html).toBe('<p>idle||false|false|null</p>');
    expect(storage.calls).toEqual([]);
    expect(WebSocket).not.toHaveBeenCalled();
  });
});
