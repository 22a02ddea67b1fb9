/**
 * `useModelRiverChat`: a conversation over `useModelRiver`'s client.
 */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import type { ModelRiverError, StreamState } from '@modelriver/client';
import { answerFrom, ChatSession, EMPTY_CHAT } from './chat-session.js';
import type { ChatMessage, ChatStatus, SendPolicy, StartChat } from './chat-session.js';
import { useSharedClient } from './context.js';
import { useClientState } from './use-client-state.js';
import { useCallbacks } from './use-model-river.js';
import type { UseModelRiverOptions } from './use-model-river.js';
import { useOwnedClient } from './use-owned-client.js';

/** Options of {@link useModelRiverChat}. */
export interface UseModelRiverChatOptions extends Omit<UseModelRiverOptions, 'request'> {
  /** Asks your backend for an answer to `messages` (the history up to the new user message); resolves with the async ack. */
  start: StartChat;
  /** A `send` while an answer streams: `queue` (default) waits for it, `interrupt` cancels it, `reject` throws `busy`. */
  policy?: SendPolicy;
}

/** What {@link useModelRiverChat} returns. */
export interface UseModelRiverChatResult {
  /** User and assistant messages; the streaming answer is live. */
  messages: ChatMessage[];
  /** Adds a user message and asks for its answer (per `policy` while one streams). */
  send: (text: string) => Promise<void>;
  /** Cancels the answer on the gateway (it ends `cancelled`) and drops queued sends. */
  stop: () => Promise<void>;
  /** Asks again for the last user message. */
  retry: () => Promise<void>;
  status: ChatStatus;
  error: ModelRiverError | null;
}

const noop = (): (() => void) => () => undefined;
const emptySnapshot = () => EMPTY_CHAT;

/**
 * A chat: `messages` (each assistant message with its own text, tool calls, structured data,
 * status and metrics), `send`, `stop`, `retry`, `status`, `error`. `start(messages)` is your
 * call to your backend (`POST /v1/ai/async` with your key) and returns the ack. The history is
 * persisted with the client's request, so a reload shows every message and the answer that
 * was streaming resumes. Works with or without `<ModelRiverProvider>`.
 *
 * @example
 * ```tsx
 * const { messages, send, stop, status } = useModelRiverChat({
 *   start: (messages) => fetch('/api/chat', { method: 'POST', body: JSON.stringify({ messages }) }).then((r) => r.json()),
 * });
 * ```
 */
export function useModelRiverChat(options: UseModelRiverChatOptions): UseModelRiverChatResult {
  const owned = useOwnedClient(useSharedClient(), options, options.autoResume ?? true);
  const client = owned?.client ?? null;
  useCallbacks(client, options);
  const chat = useMemo(
    () => (owned === null ? null : new ChatSession(owned.client, owned.storage, owned.storageKeyPrefix)),
    [owned],
  );
  if (chat !== null) {
    chat.start = options.start;
    chat.policy = options.policy ?? 'queue';
  }
  useEffect(() => chat?.attach(), [chat]);
  const snapshot = useSyncExternalStore(chat?.subscribe ?? noop, chat?.getSnapshot ?? emptySnapshot, emptySnapshot);
  // Only the streaming answer follows the client's state; the others are as they ended.
  const live = useClientState<StreamState | null>(client, (s) => (snapshot.activeId === null ? null : s), Object.is);
  const messages = useMemo(
    () => (live === null || snapshot.activeId === null ? snapshot.messages : snapshot.messages.map((m) => (m.id === snapshot.activeId ? answerFrom(m, live) : m))),
    [snapshot, live],
  );
  const actions = useMemo(
    () => ({
      send: (text: string) => (chat === null ? Promise.resolve() : chat.send(text)),
      stop: () => (chat === null ? Promise.resolve() : chat.stop()),
      retry: () => (chat === null ? Promise.resolve() : chat.retry()),
    }),
    [chat],
  );
  return { messages, status: snapshot.status, error: snapshot.error, ...actions };
}
