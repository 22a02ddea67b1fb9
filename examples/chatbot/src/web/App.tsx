/**
 * The page: one conversation, one shared `@modelriver/client` under `<ModelRiverProvider>` (the
 * chat, the status line and the reconnecting notice all read it). `apiBaseUrl` is this origin, so
 * the client gets fresh tokens from the backend's `/api/v1/ai/reconnect` when its own are spent.
 */
import { useMemo } from 'react';
import { ModelRiverProvider } from '@modelriver/react';
import { Chat } from './Chat.js';
import { currentConversationId, historyKey, storagePrefix } from './conversation.js';
import { useOtherTabsVersion } from './use-other-tabs.js';

export function App() {
  const conversationId = useMemo(currentConversationId, []);
  const version = useOtherTabsVersion(historyKey(conversationId));
  const options = useMemo(() => ({ apiBaseUrl: window.location.origin, storageKeyPrefix: storagePrefix(conversationId) }), [conversationId]);
  return (
    <main className="app">
      <header className="app-header">
        <h1>ModelRiver chatbot</h1>
        <a href="/" className="new-chat">New conversation</a>
      </header>
      <ModelRiverProvider key={version} options={options}>
        <Chat conversationId={conversationId} />
      </ModelRiverProvider>
    </main>
  );
}
