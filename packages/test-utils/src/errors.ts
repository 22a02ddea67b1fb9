/** Stable codes of {@link FakeGatewayError}. */
export const FakeGatewayErrorCode = {
  /** A `waitFor…` call saw nothing matching before its timeout. */
  timeout: 'timeout',
  /** The gateway was closed while something waited on it. */
  closed: 'closed',
  /** `createChannel` was given a channel id that is not a UUID. */
  invalidChannelId: 'invalid_channel_id',
  /** `createChannel` was given the id of an existing channel. */
  duplicateChannel: 'duplicate_channel',
} as const;
export type FakeGatewayErrorCode = (typeof FakeGatewayErrorCode)[keyof typeof FakeGatewayErrorCode];

/**
 * The one error class of the fake gateway, with a stable `code`.
 *
 * @example
 * try { await gw.waitForConnection(100); }
 * catch (e) { if (e instanceof FakeGatewayError && e.code === 'timeout') { … } }
 */
export class FakeGatewayError extends Error {
  override readonly name = 'FakeGatewayError';
  constructor(
    readonly code: FakeGatewayErrorCode,
    message: string,
  ) {
    super(message);
  }
}
