/** Topic naming: `ai_response:{project_id}:{channel_id}`, both UUIDs. */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * True when `value` is a UUID in its canonical textual form (any version).
 *
 * @example
 * isUuid('2f1e0c4e-8a8e-4c5b-9a53-3c1f1b2d9e10'); // true
 */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Builds the channel topic for a project and a channel.
 *
 * @example
 * topicFor('p', 'c'); // 'ai_response:p:c'
 */
export function topicFor(projectId: string, channelId: string): string {
  return `ai_response:${projectId}:${channelId}`;
}

/**
 * Splits a well-formed topic into its ids; `null` when the topic is malformed
 * (which a join answers with `invalid_channel_format`).
 *
 * @example
 * parseTopic('ai_response:2f1e0c4e-8a8e-4c5b-9a53-3c1f1b2d9e10:0b8f8a52-3f7e-4b0e-8d0a-6f3c2a1b9c7d');
 * // { projectId: '2f1e…', channelId: '0b8f…' }
 * parseTopic('room:lobby'); // null
 */
export function parseTopic(topic: string): { projectId: string; channelId: string } | null {
  const parts = topic.split(':');
  if (parts.length !== 3 || parts[0] !== 'ai_response') return null;
  const [, projectId = '', channelId = ''] = parts;
  if (!isUuid(projectId) || !isUuid(channelId)) return null;
  return { projectId, channelId };
}
