/**
 * A benchmark child process (a gateway, a gateway node or the clients) spoken to over IPC: one
 * request and one expected reply type at a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Bound of a child's orderly exit before it is SIGKILLed. */
const EXIT_TIMEOUT_MS = 5_000;

/**
 * Runs `script` under tsx in its own Node process, with `nodeArgs` before it.
 *
 * @example
 * ```ts
 * const script = new URL('./node-process.ts', import.meta.url);
 * const node = new Child<NodeRequest, NodeReply>(script, 'node 1', ['--expose-gc']);
 * const ready = await node.request({ type: 'setup', store: { kind: 'memory' }, open: 10, serve: true }, 'ready');
 * await node.close();
 * ```
 */
export class Child<Request, Reply extends { type: string }> {
  private readonly process: ChildProcess;
  private readonly inbox: Reply[] = [];
  private waiting: { type: string; resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  private exited: Error | undefined;

  constructor(script: URL, readonly label: string, nodeArgs: string[] = []) {
    const path = fileURLToPath(script);
    const node = ['--import', import.meta.resolve('tsx'), ...nodeArgs, path].map(quote).join(' ');
    // Through a shell so that the fd limit can be raised (N sockets need N + ~100 descriptors);
    // `exec` keeps the IPC channel and makes the shell's pid the child's.
    this.process = spawn('/bin/sh', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${quote(process.execPath)} ${node}`], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (message) => {
      this.inbox.push(message as Reply);
      this.deliver();
    });
    this.process.on('exit', (code, signal) => {
      this.exited = new Error(`${label} (${basename(path)}) exited (${code ?? signal})`);
      this.waiting?.reject(this.exited);
      this.waiting = undefined;
    });
  }

  request<T extends Reply['type']>(message: Request, type: T): Promise<Extract<Reply, { type: T }>> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.waiting = { type, resolve: resolve as (reply: Reply) => void, reject };
      this.process.send(message as object);
      this.deliver();
    });
  }

  private deliver(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    const index = this.inbox.findIndex((reply) => reply.type === waiting.type);
    if (index === -1) return;
    const [reply] = this.inbox.splice(index, 1);
    this.waiting = undefined;
    waiting.resolve(reply as Reply);
  }

  /** Asks the child to exit (so that it can flush e.g. a --cpu-prof profile), then makes sure it has. */
  async close(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    if (this.process.connected) this.process.send({ type: 'exit' });
    const timer = setTimeout(() => this.process.kill('SIGKILL'), EXIT_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Last resort when the orchestrator itself is going down. */
  kill(): void {
    if (!this.exited) this.process.kill('SIGKILL');
  }
}
