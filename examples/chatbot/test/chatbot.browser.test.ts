/**
 * The chatbot in a real browser (Debian's Chromium through playwright-core): gateway, backend and
 * the Vite-built frontend started in-process on port 0, the page's WebSocket through a TCP proxy
 * the test can cut. The mock model's token delays run through a gate (token-gate.ts), so a test
 * holds the stream exactly where it acts (Stop, a reload, a cut) instead of racing the clock.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { RequestLog } from '@modelriver/node';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chromiumAvailability } from '../../../tests/browser/browser-harness.js';
import { startGateway, type RunningGateway } from '../../gateway/src/gateway.js';
import { startChatbot, type RunningChatbot } from '../src/server/chatbot.js';
import { buildFrontend } from '../src/server/frontend.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
import { createTokenGate } from './token-gate.js';

/** A delay no other gateway timer uses, so the gate holds tokens only. */
const TOKEN_DELAY_MS = 11;
/** Bound of every wait on the page. */
const WAIT_MS = 15_000;
const SCREENSHOT = fileURLToPath(new URL('../../../test-results/chatbot.png', import.meta.url));

const availability = chromiumAvailability();
if (!availability.run && availability.fail) {
  describe('the chatbot in a real browser', () => {
    it('has Chromium to run in (required on CI)', () => {
      expect.fail(availability.reason);
    });
  });
} else if (!availability.run) {
  console.warn(`[chatbot.browser.test] skipped: ${availability.reason}`);
}

describe.skipIf(!availability.run)('the chatbot in a real browser', () => {
  const gate = createTokenGate(TOKEN_DELAY_MS);
  let gateway: RunningGateway;
  let proxy: TcpProxy;
  let bot: RunningChatbot;
  let browser: Browser;
  let context: BrowserContext | undefined;
  let staticDir: string;
  let conversations = 0;

  beforeAll(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'chatbot-web-'));
    const launched = chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 });
    await buildFrontend({ outDir: staticDir, fromSources: true });
    gateway = await startGateway({ port: 0, mockTokenDelayMs: TOKEN_DELAY_MS, stallTimeoutMs: 60_000, webhookRetryScheduleMs: [50, 50] }, { timers: gate.timers });
    proxy = await startTcpProxy(Number(new URL(gateway.url).port));
    bot = await startChatbot({
      port: 0,
      upstream: { baseUrl: gateway.url, apiKey: gateway.apiKey, webhookSecret: gateway.webhookSecret },
      staticDir,
      browserSocketUrl: proxy.socketUrl,
    });
    browser = await launched;
  }, 60_000);

  afterEach(async () => {
    gate.release();
    proxy.restore();
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await bot?.close();
    await proxy?.close();
    await gateway?.close();
    if (staticDir) rmSync(staticDir, { recursive: true, force: true });
  });

  /** A page on a new conversation (or `conversation`), in this test's browser context. */
  async function openChat(conversation = `t${++conversations}_${Date.now().toString(36)}`, width = 900): Promise<Page> {
    context ??= await browser.newContext({ viewport: { width, height: 1000 } });
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${bot.url}/?c=${conversation}`);
    await page.getByLabel('Message').waitFor().catch((error: unknown) => {
      throw new Error(`the page did not render (${errors.join('; ') || 'no page error'})`, { cause: error });
    });
    return page;
  }

  /** Types a message and sends it with the keyboard, as a user would. */
  async function ask(page: Page, workflow: string, text: string): Promise<Locator> {
    const before = await page.locator('[data-role=assistant]').count();
    await page.getByLabel('Workflow').selectOption(workflow);
    await page.getByLabel('Message').fill(text);
    await page.getByLabel('Message').press('Enter');
    const reply = page.locator('[data-role=assistant]').nth(before);
    await reply.waitFor();
    return reply;
  }

  const text = (reply: Locator): Promise<string> => reply.getByTestId('reply-text').evaluate((e) => e.firstChild?.textContent ?? '');
  const channelOf = async (reply: Locator): Promise<string> => (await reply.getAttribute('data-channel')) ?? '';
  const logOf = async (reply: Locator): Promise<RequestLog> => bot.modelRiver.requests.get(await channelOf(reply));

  /** Waits for the reply's status to be one of `statuses` (a terminal one, usually). */
  async function settled(reply: Locator, statuses = ['success', 'completed']): Promise<string> {
    await reply.and(reply.page().locator(statuses.map((s) => `[data-status=${s}]`).join(','))).waitFor();
    return (await reply.getAttribute('data-status')) ?? '';
  }

  /** Waits until the reply shows some streamed text (the gate then holds the rest). */
  async function someText(reply: Locator): Promise<string> {
    await reply.getByTestId('reply-text').filter({ hasText: /\S/ }).waitFor();
    return text(reply);
  }

  it('streams a message: several paints before the end, then exactly the final content', async () => {
    const page = await openChat();
    // Every text the reply showed while streaming, recorded in the page as React commits it.
    await page.evaluate(() => {
      const seen: number[] = [];
      (window as unknown as { seen: number[] }).seen = seen;
      new MutationObserver(() => {
        const el = document.querySelector('[data-role=assistant] [data-testid=reply-text]');
        const length = el?.firstChild?.textContent?.length ?? 0;
        if (el?.closest('[data-status=streaming]') && length > 0 && seen[seen.length - 1] !== length) seen.push(length);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const reply = await ask(page, 'chat', 'Tell me about rivers.');
    expect(await reply.getByTestId('reply-text').getAttribute('aria-live')).toBe('polite');
    await settled(reply, ['success']);
    const final = await text(reply);
    const seen = await page.evaluate(() => (window as unknown as { seen: number[] }).seen);
    expect(seen.length, `paints while streaming: ${seen.join(', ')}`).toBeGreaterThanOrEqual(3);
    expect(Math.min(...seen)).toBeLessThan(final.length);
    expect(final).toBe((await logOf(reply)).content);
    await expect(page.getByTestId('status-line').textContent()).resolves.toMatch(/queued → processing → success/);
    await expect(reply.getByTestId('metrics').textContent()).resolves.toMatch(/first token \d+ ms · \d+ ms · \d+ tokens/);
  });

  it('completes every workflow in one conversation, and the screenshot shows it', async () => {
    const page = await openChat();
    // Plain chat.
    const plain = await ask(page, 'chat', 'Hello! What can you do?');
    await settled(plain);
    expect(await text(plain)).toBe((await logOf(plain)).content);
    // A tool call, streamed, then text.
    const tools = await ask(page, 'chat-tools', 'What is the weather in Lisbon?');
    await settled(tools);
    await expect(tools.getByTestId('tool-call').textContent()).resolves.toMatch(/get_weather\(\{.*Lisbon.*\}\)/);
    expect(await text(tools)).toBe((await logOf(tools)).content);
    // Failover mid-stream: the text continues, nothing lost or repeated.
    const failover = await ask(page, 'chat-failover', 'Explain failover.');
    await settled(failover);
    const failoverLog = await logOf(failover);
    expect(failoverLog.attempts.map((a) => a.status)).toEqual(['error', 'success']);
    expect(await text(failover)).toBe(failoverLog.content);
    await expect(page.getByTestId('status-line').textContent()).resolves.toMatch(/processing → failover → success/);
    await expect(failover.getByTestId('providers').textContent()).resolves.toMatch(/mock-primary \(error\) → mock-secondary/);
    // Structured output as a card.
    const structured = await ask(page, 'chat-structured', 'I loved the new release, thanks!');
    await settled(structured);
    const data = (await logOf(structured)).data as { reply: string; topics: string[]; action_items: unknown[] };
    expect(await structured.getByTestId('card-reply').textContent()).toBe(data.reply);
    expect(await structured.getByTestId('card-topics').locator('.chip').count()).toBe(data.topics.length);
    expect(await structured.getByTestId('card-actions').locator('li').count()).toBe(data.action_items.length);
    // Event-driven: the backend's ids arrive with the callback.
    const event = await ask(page, 'chat-event', 'Take a note: buy oat milk.');
    await settled(event, ['completed']);
    const eventLog = await logOf(event);
    const ids = eventLog.customer_data as { conversationId: string; messageId: string };
    const enriched = await event.getByTestId('enriched').textContent();
    expect(enriched).toContain(ids.messageId);
    expect(enriched).toContain(ids.conversationId);
    expect(enriched).toMatch(/rec_\d{4}/);
    await expect(page.getByTestId('status-line').textContent()).resolves.toMatch(/ai_generated → awaiting callback → completed/);
    // The request log as a timeline, fetched through the backend.
    await event.getByText('Details').click();
    await event.getByTestId('timeline').filter({ hasText: 'callback_received' }).waitFor();
    expect(await page.locator('[data-role=user]').count()).toBe(5);
    // The README's picture: the whole conversation in one viewport (the composer sticks to its bottom).
    await event.getByText('Details').click();
    await page.setViewportSize({ width: 900, height: await page.evaluate(() => document.documentElement.scrollHeight) });
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
  }, 60_000);

  it('fills the structured card in while it streams', async () => {
    const page = await openChat();
    gate.pauseAfter(12);
    const reply = await ask(page, 'chat-structured', 'The launch went badly and we need a plan.');
    const card = reply.getByTestId('card-reply');
    await card.filter({ hasText: /\S/ }).waitFor();
    // Held mid-stream: the reply has started, the rest of the card has not.
    expect(await reply.getAttribute('data-status')).toBe('streaming');
    expect(await reply.getByTestId('card-sentiment').textContent()).toBe('…');
    const partial = await card.textContent();
    gate.release();
    await settled(reply);
    const data = (await logOf(reply)).data as { reply: string; sentiment: string };
    expect(data.reply.startsWith(partial ?? '')).toBe(true);
    expect(await reply.getByTestId('card-sentiment').textContent()).toContain(data.sentiment);
  });

  it('Stop ends the answer cancelled on the gateway, with no token after it', async () => {
    const page = await openChat();
    gate.pauseAfter(8);
    const reply = await ask(page, 'chat', 'Write a long story about a river.');
    await someText(reply);
    await page.getByRole('button', { name: 'Stop' }).click();
    await settled(reply, ['cancelled']);
    gate.release();
    const stopped = await text(reply);
    const log = await logOf(reply);
    expect(log.status).toBe('cancelled');
    expect(stopped).toBe(log.content);
    // Another answer streams and ends in the same page: the stopped one did not move.
    const next = await ask(page, 'chat', 'Then just say hello.');
    await settled(next);
    expect(await text(reply)).toBe(stopped);
    expect(await reply.getAttribute('data-status')).toBe('cancelled');
  });

  it('survives the link cut mid-stream and restored: the final text is the final content, byte for byte', async () => {
    const page = await openChat();
    gate.pauseAfter(8);
    const reply = await ask(page, 'chat', 'Tell me about resumable streams.');
    await someText(reply);
    proxy.cut();
    await page.getByTestId('connection').filter({ hasText: 'reconnecting…' }).waitFor();
    // The gateway goes on generating while the page is cut off; the page keeps trying.
    gate.release();
    await proxy.nextRefusal();
    proxy.restore();
    await settled(reply, ['success']);
    expect(await page.getByTestId('connection').textContent()).toBe('');
    expect(await text(reply)).toBe((await logOf(reply)).content);
  });

  it('reloads mid-stream: the text is there at first paint, then it completes with nothing repeated', async () => {
    const page = await openChat();
    gate.pauseAfter(8);
    const reply = await ask(page, 'chat', 'Tell me about reloads.');
    const before = await someText(reply);
    // The first text the reloaded page renders into the reply, recorded as the node is inserted.
    await page.addInitScript(() => {
      new MutationObserver((_m, observer) => {
        const el = document.querySelector('[data-role=assistant] [data-testid=reply-text]');
        if (el === null) return;
        (window as unknown as { firstText: string }).firstText = el.firstChild?.textContent ?? '';
        observer.disconnect();
      }).observe(document, { subtree: true, childList: true });
    });
    await page.reload();
    await page.locator('[data-role=assistant]').waitFor();
    const firstText = await page.evaluate(() => (window as unknown as { firstText?: string }).firstText);
    // At least what was on screen before the reload (a token painted after `before` was read may
    // also have been persisted): never less, never empty.
    expect(firstText?.startsWith(before)).toBe(true);
    gate.release();
    const resumed = page.locator('[data-role=assistant]').first();
    await settled(resumed, ['success']);
    const final = await text(resumed);
    expect(final).toBe((await logOf(resumed)).content);
    expect(final.startsWith(firstText ?? '\u0000')).toBe(true);
  });

  it('shows the reply in two tabs on one conversation', async () => {
    const conversation = `two_tabs_${Date.now().toString(36)}`;
    const first = await openChat(conversation);
    const second = await openChat(conversation);
    const reply = await ask(first, 'chat', 'Hello from the first tab.');
    await settled(reply, ['success']);
    const other = second.locator('[data-role=assistant]').first();
    await settled(other, ['success']);
    expect(await text(other)).toBe(await text(reply));
    expect(await text(other)).toBe((await logOf(reply)).content);
    expect(await second.locator('[data-role=user]').textContent()).toBe('Hello from the first tab.');
  });

  it('is readable at 375 px wide: nothing overflows sideways', async () => {
    const page = await openChat(undefined, 375);
    const reply = await ask(page, 'chat-structured', 'A narrow screen, a long answer with many topics to wrap around.');
    await settled(reply);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
  });
});
