import { describe, expect, it } from 'vitest';
import { parseTopic, topicFor } from './topic.js';

const P = '2f1e0c4e-8a8e-4c5b-9a53-3c1f1b2d9e10';
const C = '0b8f8a52-3f7e-4b0e-8d0a-6f3c2a1b9c7d';

describe('topic', () => {
  it('parses a well-formed topic', () => {
    expect(parseTopic(topicFor(P, C))).toEqual({ projectId: P, channelId: C });
  });

  it.each(['room:lobby', `ai_response:${C}`, `ai_response:${P}:not-a-uuid`, `ai_response:${P}:${C}:x`, `other:${P}:${C}`])(
    'rejects %s',
    (topic) => {
      expect(parseTopic(topic)).toBeNull();
    },
  );
});
