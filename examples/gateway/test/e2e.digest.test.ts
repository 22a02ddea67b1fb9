/**
 * One digest from stream to webhook: the terminal `response` and its webhook carry the channel's
 * last seq and the SHA-256 of the final content, and @modelriver/node checks a browser's text
 * against the webhook with them.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { verifyStreamDigest } from '@modelriver/node';
import { startGateway, type RunningGateway } from '../src/gateway.js';
import { joinAck, startAsync, startReceiver, type Receiver } from './e2e.helpers.js';

let gw: RunningGateway;
let receiver: Receiver;
beforeAll(async () => {
  gw = await startGateway({ port: 0, mockTokenDelayMs: 0 });
  receiver = await startReceiver();
});
afterAll(async () => {
  await gw.close();
  await receiver.close();
});

it('puts last_seq and content_sha256 on the final response and its webhook, and the node helper checks a text with them', async () => {
  const ack = await startAsync(gw, 'chat', 'digest me ✓ 🚀', { webhook_url: receiver.url });
  const channel = await joinAck(ack);
  const final = await channel.terminal();
  const hook = await receiver.waitFor((h) => h.body['channel_id'] === ack.channel_id);
  await channel.close();
  const sha = createHash('sha256').update(final.content ?? '', 'utf8').digest('hex');
  expect(final).toMatchObject({ last_seq: final.seq, content_sha256: sha });
  expect(hook.body).toMatchObject({ type: 'task.completed', last_seq: final.seq, content_sha256: sha });
  const browserText = channel.text();
  expect(verifyStreamDigest({ text: browserText, event: hook.body, lastSeq: final.seq })).toEqual({ ok: true });
  expect(verifyStreamDigest({ text: browserText.slice(0, -1), event: hook.body })).toMatchObject({ ok: false, code: 'digest_mismatch' });
});

it('gives the ai_generated webhook the seq of the ai_generated response', async () => {
  const ack = await startAsync(gw, 'chat', 'enrich', { webhook_url: receiver.url, events: ['enrich'] });
  const channel = await joinAck(ack);
  const generated = await channel.waitFor((e) => e.event === 'response' && e.payload['status'] === 'ai_generated');
  const hook = await receiver.waitFor((h) => h.body['channel_id'] === ack.channel_id && h.body['type'] === 'task.ai_generated');
  expect(hook.body['last_seq']).toBe(generated.payload['seq']);
  expect(hook.body['content_sha256']).toBe(generated.payload['content_sha256']);
  await channel.close();
});
