/**
 * The channel hub: the gateway's WebSocket side (contract section 2). The HTTP layer and the
 * runner use it only through {@link ChannelHub} and {@link ChannelHandle}.
 */
export { createChannelHub, JOIN_RATE_LIMITED, JOIN_STORE_UNAVAILABLE, SLOW_CONSUMER_CLOSE_CODE, SOCKET_PATH } from './hub.js';
export { ChannelHubError, type ChannelHubErrorCode } from './errors.js';
export { isUuid, parseTopic, type TopicParts } from './topic.js';
export type { BackplaneHost, ChannelBackplane, LoadedChannel } from './backplane.js';
export type { EncodedEvent, Slot } from './log.js';
export type { ConnectTokens } from './tokens.js';
export type { ChannelHandle, ChannelHooks, ChannelHub, ChannelHubOptions, ChannelHubStats, IntervalTimers, JoinInfo } from './types.js';
export { ListenerRegistry, LISTENER_DELIVERY_EVENT, LISTENER_RESULT_EVENT, LISTENER_TOPIC_PREFIX, SELF_LISTENER_TOPIC, listenerTopic } from './listeners.js';
