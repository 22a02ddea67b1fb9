/** Topic names: `ai_response:{project_id}:{channel_id}`, both UUIDs. */
import { isUuid } from '../values.js';

export { isUuid } from '../values.js';

const TOPIC_RE = /^ai_response:([^:]+):([^:]+)$/;

/** The two ids a topic names. */
export interface TopicParts {
  projectId: string;
  channelId: string;
}

/**
 * Splits a channel topic into its ids, or returns `null` when it is not
 * `ai_response:{uuid}:{uuid}` (the join is then refused with `invalid_channel_format`).
 *
 * @example
 * ```ts
 * parseTopic('ai_response:5f0c7c2e-8a4b-4f7e-9a57-0d3c1b2a4e6f:0b6b7d2a-3c1e-4b8f-8d2e-6a9c1f3e5b7d');
 * // { projectId: '5f0c…', channelId: '0b6b…' }
 * parseTopic('room:lobby'); // null
 * ```
 */
export function parseTopic(topic: string): TopicParts | null {
  const match = TOPIC_RE.exec(topic);
  if (match === null || !isUuid(match[1]) || !isUuid(match[2])) return null;
  return { projectId: match[1], channelId: match[2] };
}
