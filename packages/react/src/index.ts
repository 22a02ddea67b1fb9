/**
 * `@modelriver/react`: React hooks over `@modelriver/client`'s store. The logic stays in the
 * client; this layer subscribes with `useSyncExternalStore`, owns the client's lifecycle and
 * renders at most once per animation frame.
 */
export { useModelRiver } from './use-model-river.js';
export type { ModelRiverCallbacks, PartialData, UseModelRiverOptions, UseModelRiverResult } from './use-model-river.js';
export { useModelRiverChat } from './use-model-river-chat.js';
export type { UseModelRiverChatOptions, UseModelRiverChatResult } from './use-model-river-chat.js';
export type { ChatMessage, ChatStatus, SendPolicy, StartChat } from './chat-session.js';
export { ModelRiverProvider } from './context.js';
export type { ModelRiverProviderProps } from './context.js';
