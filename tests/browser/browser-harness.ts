/**
 * What the browser test needs around the page: the system Chromium (or why it is missing),
 * a loopback HTTP server with a blank page and the client bundled for browsers, and the
 * backend's side of a request (`POST /v1/ai/async`, `POST /v1/ai`) against the gateway.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type * as ClientModule from '@modelriver/client';
import type { AsyncAck, SyncAnswer } from '@modelriver/node';

declare global {
  interface Window {
    /** The IIFE bundle's global (`globalName: 'ModelRiver'`). */
    ModelRiver: typeof ClientModule;
    /** The client a test keeps between `page.evaluate` calls. */
    mrClient?: ClientModule.ModelRiverClient;
  }
}

/** Debian's `chromium` package; playwright-core brings no browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a quiet, sandbox-free headless run on a CI container (loopback only). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether to run, skip (developer machine without Chromium) or fail (CI without Chromium). */
export type BrowserAvailability = { run: true } | { run: false; fail: boolean; reason: string };

/**
 * Decides what to do about the browser tests on this machine.
 *
 * @example
 * ```ts
 * const availability = chromiumAvailability(process.env, existsSync);
 * if (!availability.run && availability.fail) throw new Error(availability.reason);
 * ```
 */
export function chromiumAvailability(
  env: Record<string, string | undefined> = process.env,
  exists: (path: string) => boolean = existsSync,
): BrowserAvailability {
  if (exists(CHROMIUM_PATH)) return { run: true };
  const reason =
    `${CHROMIUM_PATH} not found: install it with ` +
    '`apt-get update && apt-get install -y chromium` (.ci/run does this on CI)';
  // A CI run that silently skips its only browser coverage would pass for the wrong reason.
  return { run: false, fail: env.CI !== undefined && env.CI !== '' && env.CI !== 'false', reason };
}

/** The loopback server that hands the page to Chromium. */
export interface PageServer {
  /** `http://127.0.0.1:{port}/`: a blank page that loads the client bundle. */
  url: string;
  close(): Promise<void>;
}

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>modelriver client</title><link rel="icon" href="data:,">
<script src="/client.js"></script></head><body></body></html>`;

/**
 * Bundles `@modelriver/client` as an IIFE for browsers (so it uses the page's native
 * WebSocket and localStorage, never `ws`) and serves it with a blank page on 127.0.0.1:0.
 *
 * @example
 * ```ts
 * const server = await startPageServer();
 * await page.goto(server.url); // window.ModelRiver.ModelRiverClient is defined
 * await server.close();
 * ```
 */
export async function startPageServer(): Promise<PageServer> {
  const bundle = await build({
    entryPoints: [fileURLToPath(new URL('../../packages/client/src/index.ts', import.meta.url))],
    bundle: true,
    format: 'iife',
    globalName: 'ModelRiver',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]?.contents;
  if (script === undefined) throw new Error('esbuild produced no output for the client bundle');

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE_HTML);
    } else if (path === '/client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(script);
    } else {
      // The page declares an empty icon, so nothing else is asked for; anything that is gets a 404.
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return listen(server);
}

/** Where the backend calls the gateway. */
export interface GatewayTarget {
  url: string;
  apiKey: string;
}

async function postJson<T>(gateway: GatewayTarget, path: string, body: unknown, expected: number): Promise<T> {
  const res = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`POST ${path}: expected ${expected}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * The backend's half: starts a `chat` request and returns the ack the page connects with.
 *
 * @example
 * ```ts
 * const ack = await startChat(gw, 'Hello');
 * client.connect({ channelId: ack.channel_id, wsToken: ack.ws_token, websocketUrl: ack.websocket_url });
 * ```
 */
export function startChat(gateway: GatewayTarget, prompt: string): Promise<AsyncAck> {
  return postJson<AsyncAck>(gateway, '/v1/ai/async', { workflow: 'chat', messages: [{ role: 'user', content: prompt }] }, 202);
}

/**
 * The same `chat` request, synchronously: the mock model answers a function of the prompt,
 * so this is an independent reference for what a stream of that prompt must add up to.
 *
 * @example
 * ```ts
 * const { content } = await chatSync(gw, 'Hello');
 * ```
 */
export function chatSync(gateway: GatewayTarget, prompt: string): Promise<SyncAnswer> {
  return postJson<SyncAnswer>(gateway, '/v1/ai', { workflow: 'chat', messages: [{ role: 'user', content: prompt }] }, 200);
}

/** What {@link startScriptTagServer} serves. */
export interface ScriptTagSite {
  /** The page at `/`: plain HTML, as a user writes it. */
  html: string;
  /** Files by path (e.g. `/modelriver.global.js`), served as JavaScript. */
  scripts: Record<string, string | Uint8Array>;
  /** The app's backend: `POST /api/ask` with `{prompt}` answers what this resolves to, as JSON. */
  ask(prompt: string): Promise<unknown>;
}

/**
 * A loopback site for a page with no bundler: the HTML, its script files and a backend route
 * (`POST /api/ask`) that the page's own code calls, on 127.0.0.1:0.
 *
 * @example
 * ```ts
 * const site = await startScriptTagServer({ html, scripts: { '/modelriver.global.js': file }, ask: (p) => startChat(gw, p) });
 * await page.goto(site.url);
 * await site.close();
 * ```
 */
export async function startScriptTagServer(site: ScriptTagSite): Promise<PageServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const script = site.scripts[path];
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(site.html);
    } else if (req.method === 'GET' && script !== undefined) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
      res.end(script);
    } else if (req.method === 'POST' && path === '/api/ask') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let prompt = '';
        try {
          prompt = String((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt?: unknown }).prompt ?? '');
        } catch {
          prompt = '';
        }
        site.ask(prompt).then(
          (ack) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(ack));
          },
          (error: unknown) => {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(String(error));
          },
        );
      });
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  return listen(server);
}

/** Serves `server` on a free port of 127.0.0.1: its URL, and a close that ends open connections too. */
async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
