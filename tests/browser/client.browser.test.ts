/**
 * `@modelriver/client` in a real browser (headless Chromium through playwright-core): the
 * IIFE bundle on a page, with the browser's own WebSocket and localStorage, against the
 * reference gateway on 127.0.0.1. Node only drives the page and plays the backend.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { ConnectingInfo, JoinedInfo, StreamState } from '@modelriver/client';
import type { AsyncAck } from '@modelriver/node';
import { startGateway, type RunningGateway } from '../../examples/gateway/src/gateway.js';
import {
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  chatSync,
  chromiumAvailability,
  startChat,
  startPageServer,
  type PageServer,
} from './browser-harness.js';

/** Bound of every wait inside the page and of every predicate polled from Node. */
const WAIT_MS = 8_000;

/** What a page-side run reports back: JSON-safe, so it crosses `page.evaluate`. */
interface PageRun {
  state: StreamState;
  /** The `tokens` deltas this page's client emitted, concatenated in order. */
  streamed: string;
  protocolErrors: string[];
  errors: string[];
  connecting: ConnectingInfo[];
  joined: JoinedInfo[];
  /** `reconnect()`'s return value, where the run resumed. */
  reconnectStarted?: boolean;
}

const availability = chromiumAvailability();

if (!availability.run && availability.fail) {
  describe('client in a real browser', () => {
    it('has Chromium to run in (required on CI)', () => {
      expect.fail(availability.reason);
    });
  });
} else if (!availability.run) {
  console.warn(`[client.browser.test] skipped: ${availability.reason}`);
}

describe.skipIf(!availability.run)('client in a real browser', () => {
  let gateway: RunningGateway;
  let slowGateway: RunningGateway;
  let pages: PageServer;
  let browser: Browser;
  let context: BrowserContext | undefined;

  beforeAll(async () => {
    [gateway, slowGateway, pages, browser] = await Promise.all([
      startGateway({ port: 0, mockTokenDelayMs: 15 }),
      // Slow enough that a reload lands mid-stream (48+ tokens at 40 ms: about two seconds).
      startGateway({ port: 0, mockTokenDelayMs: 40 }),
      startPageServer(),
      chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 }),
    ]);
  });

  afterEach(async () => {
    await context?.close();
    context = undefined;
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), slowGateway?.close(), pages?.close()]);
  });

  /** A page in a fresh context (its own localStorage), watched for uncaught errors and sockets. */
  async function openPage(): Promise<{ page: Page; pageErrors: string[]; sockets: string[] }> {
    context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    const pageErrors: string[] = [];
    const sockets: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    // Chromium reports the page's native WebSocket connections here: proof the bundle used them.
    page.on('websocket', (socket) => sockets.push(socket.url()));
    await page.goto(pages.url);
    expect(await page.evaluate(() => typeof window.ModelRiver.ModelRiverClient)).toBe('function');
    return { page, pageErrors, sockets };
  }

  it('streams a chat response with the native WebSocket', async () => {
    const { page, pageErrors, sockets } = await openPage();
    const prompt = 'Tell me about rivers in the browser';
    const ack = await startChat(gateway, prompt);

    const run = await page.evaluate(
      async ({ ack, waitMs }: { ack: AsyncAck; waitMs: number }): Promise<PageRun> => {
        const client = new window.ModelRiver.ModelRiverClient();
        const run = { streamed: '', protocolErrors: [] as string[], errors: [] as string[], connecting: [] as ConnectingInfo[], joined: [] as JoinedInfo[] };
        client.on('tokens', (event) => {
          run.streamed += event.delta;
        });
        client.on('protocol_error', (info) => run.protocolErrors.push(`${info.code}: ${info.message}`));
        client.on('error', (error) => run.errors.push(`${error.code}: ${error.message}`));
        client.on('connecting', (info) => run.connecting.push(info));
        client.on('channel_joined', (info) => run.joined.push(info));
        const state = await new Promise<StreamState>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no response within ${waitMs} ms: ${JSON.stringify(client.getState())}`)), waitMs);
          client.on('response', () => {
            clearTimeout(timer);
            resolve(client.getState());
          });
          client.connect({
            channelId: ack.channel_id,
            wsToken: ack.ws_token,
            websocketUrl: ack.websocket_url,
            websocketChannel: ack.websocket_channel,
          });
        });
        return { state, ...run };
      },
      { ack, waitMs: WAIT_MS },
    );

    const reference = await chatSync(gateway, prompt);
    expect(run.state.status).toBe('success');
    expect(run.state.response?.status).toBe('success');
    expect(run.state.response?.channel_id).toBe(ack.channel_id);
    expect(run.state.response?.content).toBe(reference.content);
    // The deltas the page received add up to the final content, byte for byte.
    expect(run.streamed).toBe(run.state.response?.content);
    expect(run.state.text).toBe(run.state.response?.content);
    expect(run.state.metrics.tokenCount).toBeGreaterThan(0);
    expect(run.state.errorCode).toBeNull();
    expect(run.protocolErrors).toEqual([]);
    expect(run.errors).toEqual([]);
    expect(run.connecting).toEqual([expect.objectContaining({ via: 'ws_token' })]);
    expect(run.joined).toHaveLength(1);
    expect(sockets).toEqual([`${ack.websocket_url}/websocket?token=${encodeURIComponent(ack.ws_token)}&vsn=2.0.0`]);
    expect(pageErrors).toEqual([]);
  });

  it('shows the persisted text after a reload and resumes to the exact final text', async () => {
    const { page, pageErrors, sockets } = await openPage();
    const prompt = 'Explain how a stream survives a page reload';
    const ack = await startChat(slowGateway, prompt);

    await page.evaluate((ack: AsyncAck) => {
      const client = new window.ModelRiver.ModelRiverClient();
      window.mrClient = client;
      client.connect({
        channelId: ack.channel_id,
        wsToken: ack.ws_token,
        websocketUrl: ack.websocket_url,
        websocketChannel: ack.websocket_channel,
      });
    }, ack);
    await page.waitForFunction(() => (window.mrClient?.getState().text.length ?? 0) > 0, undefined, { timeout: WAIT_MS });
    // Persistence is throttled (one write per 250 ms); the client writes the latest on `pagehide`,
    // so the reload below, right after the first tokens, must still find all of them.
    const before = await page.evaluate(() => window.mrClient!.getState());
    // Reloading after the end would test nothing: the stream must still be running.
    expect(before.status).toBe('streaming');

    await page.reload();
    expect(await page.evaluate(() => window.mrClient)).toBeUndefined();

    // A new client shows what was persisted at once, before any connection.
    const restored = await page.evaluate(() => {
      const client = new window.ModelRiver.ModelRiverClient();
      window.mrClient = client;
      return client.getState();
    });
    expect(restored.text.length).toBeGreaterThan(0);
    // Everything shown before the reload is there (more may have arrived before the page went away).
    expect(restored.text.startsWith(before.text)).toBe(true);
    expect(restored.lastSeq).toBeGreaterThanOrEqual(before.lastSeq);
    expect(restored.hasPendingRequest).toBe(true);
    expect(restored.channelId).toBe(ack.channel_id);
    expect(restored.connectionState).toBe('disconnected');
    expect(restored.lastSeq).toBeGreaterThan(0);

    const run = await page.evaluate(async (waitMs: number): Promise<PageRun> => {
      const client = window.mrClient!;
      const run = { streamed: '', protocolErrors: [] as string[], errors: [] as string[], connecting: [] as ConnectingInfo[], joined: [] as JoinedInfo[] };
      client.on('tokens', (event) => {
        run.streamed += event.delta;
      });
      client.on('protocol_error', (info) => run.protocolErrors.push(`${info.code}: ${info.message}`));
      client.on('error', (error) => run.errors.push(`${error.code}: ${error.message}`));
      client.on('connecting', (info) => run.connecting.push(info));
      client.on('channel_joined', (info) => run.joined.push(info));
      let reconnectStarted = false;
      const state = await new Promise<StreamState>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no response within ${waitMs} ms: ${JSON.stringify(client.getState())}`)), waitMs);
        client.on('response', () => {
          clearTimeout(timer);
          resolve(client.getState());
        });
        reconnectStarted = client.reconnect();
      });
      return { state, reconnectStarted, ...run };
    }, WAIT_MS);

    const reference = await chatSync(gateway, prompt);
    expect(run.reconnectStarted).toBe(true);
    expect(run.connecting).toEqual([expect.objectContaining({ via: 'resume_token' })]);
    expect(run.joined).toEqual([expect.objectContaining({ resumed: true })]);
    expect(run.state.status).toBe('success');
    expect(run.state.response?.content).toBe(reference.content);
    // Lossless and without duplicates: the persisted text plus what came after the resume.
    expect(restored.text + run.streamed).toBe(run.state.response?.content);
    expect(run.state.text).toBe(run.state.response?.content);
    expect(run.state.hasPendingRequest).toBe(false);
    expect(run.protocolErrors).toEqual([]);
    expect(run.errors).toEqual([]);
    // Two native sockets: the first connect with the ack's token, the resume with another one.
    expect(sockets).toHaveLength(2);
    expect(sockets[0]).toContain(`token=${encodeURIComponent(ack.ws_token)}`);
    expect(sockets[1]).toMatch(new RegExp(`^${slowGateway.wsUrl}/websocket\\?token=[^&]+&vsn=2\\.0\\.0$`));
    expect(sockets[1]).not.toContain(`token=${encodeURIComponent(ack.ws_token)}`);
    // Nothing of the finished request is left to resume on the next load.
    expect(await page.evaluate(() => new window.ModelRiver.ModelRiverClient().hasPendingRequest())).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});
