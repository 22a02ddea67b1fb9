/**
 * A TCP proxy between the page and the gateway's WebSocket, to cut the link for real: Chromium's
 * offline mode does not close a WebSocket that is already open. `cut()` drops every connection
 * and refuses new ones until `restore()`.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** See the module comment. */
export interface TcpProxy {
  /** `ws://127.0.0.1:{port}/socket`: what the backend hands the page as `websocket_url`. */
  socketUrl: string;
  cut(): void;
  restore(): void;
  /** Resolves at the next connection refused while cut. */
  nextRefusal(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1:0 and forwards to `targetPort` on 127.0.0.1.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(new URL(gw.url).port);
 * proxy.cut(); await proxy.nextRefusal(); proxy.restore();
 * ```
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let down = false;
  const open = new Set<Socket>();
  const events = new EventEmitter();
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      events.emit('refused');
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      open.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        open.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    socketUrl: `ws://127.0.0.1:${port}/socket`,
    cut() {
      down = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      down = false;
    },
    nextRefusal: () => once(events, 'refused').then(() => undefined),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
