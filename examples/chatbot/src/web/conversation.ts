/**
 * Which conversation this tab shows: `?c=<id>` in the address (so two tabs on one URL share it),
 * a new id otherwise. Each conversation keeps its own history and streaming request in
 * localStorage, under its own key prefix.
 */

/** The conversation id of this page, written into the address if it was not there. */
export function currentConversationId(): string {
  const url = new URL(window.location.href);
  const given = url.searchParams.get('c');
  if (given !== null && /^[A-Za-z0-9_-]{1,64}$/.test(given)) return given;
  const id = `c_${crypto.randomUUID().slice(0, 8)}`;
  url.searchParams.set('c', id);
  window.history.replaceState(null, '', url);
  return id;
}

/** The localStorage prefix of a conversation's client record and chat history. */
export const storagePrefix = (conversationId: string): string => `chatbot_${conversationId}_`;

/** Where `useModelRiverChat` saves the history (its `${storageKeyPrefix}chat_messages`). */
export const historyKey = (conversationId: string): string => `${storagePrefix(conversationId)}chat_messages`;
