/**
 * The channel hub: the gateway's WebSocket side (contract section 2). The HTTP layer and the
 * runner use it only through {@link ChannelHub} and {@link ChannelHandle}.
 */
export { createChannelHub, JOIN_RATE_LIMITED, SLOW_CONSUMER_CLOSE_CODE, SOCKET_PATH } from './hub.js';
export { ChannelHubError, type ChannelHubErrorCode } from './errors.js';
export { isUuid, parseTopic, type TopicParts } from './topic.js';
export type { ChannelHandle, ChannelHub, ChannelHubOptions, ChannelHubStats, IntervalTimers, JoinInfo } from './types.js';
export { ListenerRegistry, LISTENER_DELIVERY_EVENT, LISTENER_RESULT_EVENT, LISTENER_TOPIC_PREFIX, SELF_LISTENER_TOPIC, listenerTopic } from './listeners.js';
