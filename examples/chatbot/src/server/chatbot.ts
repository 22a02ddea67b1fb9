/**
 * Starts the backend on its own HTTP server, in front of a gateway (the reference one started
 * beside it, or the hosted service). Used by `npm run demo` (src/server/main.ts) and the tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ModelRiver } from '@modelriver/node';
import { createChatbotApp } from './app.js';

/** The gateway the backend talks to. */
export interface Upstream {
  /** `http://127.0.0.1:8787`, or the hosted API's base URL. */
  baseUrl: string;
  apiKey: string;
  webhookSecret: string;
}

/** Options of {@link startChatbot}. */
export interface StartChatbotOptions {
  upstream: Upstream;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** The built frontend (see buildFrontend); none: API only. */
  staticDir?: string;
  /** This backend's public base URL, for the gateway's webhooks (a tunnel, with the hosted service). Default: the listening address. */
  publicUrl?: string;
  /** See `ChatbotAppOptions.browserSocketUrl`. */
  browserSocketUrl?: string;
  log?: (line: string) => void;
}

/** A running backend. */
export interface RunningChatbot {
  /** `http://127.0.0.1:{port}`: the page, and the API under `/api`. */
  url: string;
  modelRiver: ModelRiver;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Listens first, so the webhook URL can name the real port, then mounts the app.
 *
 * @example
 * ```ts
 * const bot = await startChatbot({ port: 0, upstream: { baseUrl: gw.url, apiKey: gw.apiKey, webhookSecret: gw.webhookSecret } });
 * await fetch(`${bot.url}/api/chat`, { method: 'POST', … });
 * await bot.close();
 * ```
 */
export async function startChatbot(options: StartChatbotOptions): Promise<RunningChatbot> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer();
  const { port } = await listen(server, options.port ?? 3000, host);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const modelRiver = new ModelRiver({ apiKey: options.upstream.apiKey, baseUrl: options.upstream.baseUrl });
  const app = createChatbotApp({
    modelRiver,
    webhookSecret: options.upstream.webhookSecret,
    webhookUrl: `${(options.publicUrl ?? url).replace(/\/+$/, '')}/webhooks/modelriver`,
    ...(options.browserSocketUrl !== undefined ? { browserSocketUrl: options.browserSocketUrl } : {}),
    ...(options.staticDir !== undefined ? { staticDir: options.staticDir } : {}),
    ...(options.log !== undefined ? { log: options.log } : {}),
  });
  server.on('request', app);
  return {
    url,
    modelRiver,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
