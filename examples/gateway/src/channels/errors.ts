/** Stable codes of {@link ChannelHubError}: callers branch on these, never on messages. */
export type ChannelHubErrorCode =
  | 'invalid_option'
  | 'invalid_project_id'
  | 'invalid_channel_id'
  | 'channel_exists'
  | 'channel_not_found'
  | 'channel_finished'
  | 'invalid_event'
  | 'invalid_payload'
  | 'hub_closed';

/**
 * A misuse of the hub by its caller (the runner or the HTTP layer), with a stable `code`.
 * Clients on the socket never see these: bad frames are dropped and bad joins are refused
 * with a `phx_reply` instead.
 *
 * @example
 * ```ts
 * try {
 *   hub.issueToken(channelId);
 * } catch (error) {
 *   if (error instanceof ChannelHubError && error.code === 'channel_not_found') return notFound();
 *   throw error;
 * }
 * ```
 */
export class ChannelHubError extends Error {
  override readonly name = 'ChannelHubError';
  constructor(
    readonly code: ChannelHubErrorCode,
    message: string,
  ) {
    super(message);
  }
}
