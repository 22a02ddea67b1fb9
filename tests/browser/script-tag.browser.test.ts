/**
 * The script-tag build of `@modelriver/client` as users load it: the BUILT
 * dist/modelriver.global.js (`npm run build`; `npm test` builds it first) in a plain HTML page
 * with no bundler, in headless Chromium, streaming a request from the reference gateway. The
 * page's own inline script asks its backend for the ack, connects, and renders the text.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { startGateway, type RunningGateway } from '../../examples/gateway/src/gateway.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH, chatSync, chromiumAvailability, startChat, startScriptTagServer, type PageServer } from './browser-harness.js';

/** Bound of every wait inside the page. */
const WAIT_MS = 8_000;
const GLOBAL_FILE = fileURLToPath(new URL('../../packages/client/dist/modelriver.global.js', import.meta.url));
const PROMPT = 'Tell me about rivers from a script tag';

/** What a user writes: a script tag, then plain JavaScript using the global `ModelRiver`. */
const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>script tag</title><link rel="icon" href="data:,">
<script src="/modelriver.global.js"></script></head>
<body>
<button id="ask">Ask</button>
<p id="status"></p>
<p id="answer"></p>
<script>
  var client = new ModelRiver.ModelRiverClient({ notify: 'animationFrame' });
  var streamed = '';
  client.on('tokens', function (event) { streamed += event.delta; });
  client.subscribe(function (state) {
    document.getElementById('answer').textContent = state.text;
    document.getElementById('status').textContent = state.status;
    if (state.status === 'success') document.body.dataset.streamed = streamed;
  });
  document.getElementById('ask').addEventListener('click', function () {
    fetch('/api/ask', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: ${JSON.stringify(PROMPT)} }) })
      .then(function (res) { return res.json(); })
      .then(function (ack) { client.connect(ack); });
  });
</script>
</body></html>`;

const availability = chromiumAvailability();

if (!availability.run && availability.fail) {
  describe('script-tag build in a real browser', () => {
    it('has Chromium to run in (required on CI)', () => {
      expect.fail(availability.reason);
    });
  });
} else if (!availability.run) {
  console.warn(`[script-tag.browser.test] skipped: ${availability.reason}`);
}

describe.skipIf(!availability.run)('script-tag build in a real browser', () => {
  let gateway: RunningGateway;
  let site: PageServer;
  let browser: Browser;
  let script: string;

  beforeAll(async () => {
    if (!existsSync(GLOBAL_FILE)) throw new Error(`${GLOBAL_FILE} is missing: build the client first (npm run build)`);
    script = readFileSync(GLOBAL_FILE, 'utf8');
    gateway = await startGateway({ port: 0, mockTokenDelayMs: 15 });
    [site, browser] = await Promise.all([
      startScriptTagServer({ html: PAGE_HTML, scripts: { '/modelriver.global.js': script }, ask: (prompt) => startChat(gateway, prompt) }),
      chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 15_000 }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await Promise.all([gateway?.close(), site?.close()]);
  });

  it('is one minified file for browsers, with no `ws` or module loader inside', () => {
    expect(script.startsWith('"use strict";var ModelRiver=')).toBe(true);
    // Minified: a few long lines, not one line per statement.
    expect(script.split('\n').length).toBeLessThan(10);
    expect(script).not.toMatch(/\brequire\(/);
    expect(script).not.toContain('WebSocketServer');
  });

  it('a plain HTML page streams a request from the reference gateway with the global ModelRiver', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const pageErrors: string[] = [];
      const sockets: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text());
      });
      page.on('websocket', (socket) => sockets.push(socket.url()));
      await page.goto(site.url);
      expect(await page.evaluate(() => typeof window.ModelRiver.ModelRiverClient)).toBe('function');

      await page.click('#ask');
      await page.waitForFunction(() => document.getElementById('status')?.textContent === 'success', undefined, { timeout: WAIT_MS });

      const reference = (await chatSync(gateway, PROMPT)).content ?? '';
      expect(reference.length).toBeGreaterThan(0);
      expect(await page.textContent('#answer')).toBe(reference);
      // The tokens the page received add up to the final text: it streamed, not just got the end.
      expect(await page.evaluate(() => document.body.dataset.streamed)).toBe(reference);
      // The page's native WebSocket carried it, once.
      expect(sockets).toHaveLength(1);
      expect(sockets[0]).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket\/websocket\?token=/);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
