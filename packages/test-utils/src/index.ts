/**
 * `@modelriver/test-utils`: a fake gateway speaking the channel contract over
 * real sockets on 127.0.0.1, for the suite's integration tests and benchmarks.
 */
export { FakeGateway } from './fake-gateway.js';
export type { FakeGatewayOptions, UpgradeRecord, WaitForFrameOptions } from './fake-gateway.js';
export { FakeChannel } from './fake-channel.js';
export type { FakeTimers, JoinInfo, StreamTextOptions } from './fake-channel.js';
export { FakeConnection } from './fake-connection.js';
export type { CloseInfo } from './fake-connection.js';
export { FakeGatewayError, FakeGatewayErrorCode } from './errors.js';
export { decodeFrame, encodeFrame, replyFrame, PHOENIX_TOPIC } from './frames.js';
export type { RecordedFrame } from './frames.js';
export { planDelivery } from './replay.js';
export { isUuid, parseTopic, topicFor } from './topic.js';
export type { TokenKind, TokenRefusal } from './token-registry.js';
export type { HttpFailure, RecordedHttpRequest } from './http-routes.js';
export { RawClient, RawClientError } from './raw-client.js';
