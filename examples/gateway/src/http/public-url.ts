/**
 * The base URL clients should use to reach this gateway (for `websocket_url` and `callback_url`):
 * the configured public URL, else the request's Host header, else the listening address.
 */
import type { IncomingMessage } from 'node:http';

// Host header values we are willing to echo into URLs: name or IPv4/IPv6 literal, optional port.
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * Returns `http(s)://host[:port]` without a trailing slash.
 *
 * @example
 * ```ts
 * publicBase(req, null, 'http://127.0.0.1:8787'); // 'http://localhost:8787' for Host: localhost:8787
 * ```
 */
export function publicBase(req: IncomingMessage, configured: string | null, fallback: string): string {
  if (configured) return configured;
  const host = req.headers.host;
  return host && SAFE_HOST.test(host) ? `http://${host}` : fallback;
}

/**
 * `ws(s)://…/socket` for a public base URL.
 *
 * @example
 * ```ts
 * websocketUrl('https://ai.example.com'); // 'wss://ai.example.com/socket'
 * ```
 */
export function websocketUrl(base: string): string {
  return `${base.replace(/^http/, 'ws')}/socket`;
}
