/**
 * The terminal demo: starts the reference gateway (embedded mock model, no keys), then plays the
 * part of an app's backend and browser for five workflows, built only on our packages:
 * `@modelriver/node` asks for a response and receives the webhook, `@modelriver/client` streams it.
 *
 *   npm run demo              plays the five workflows and exits
 *   npm run demo -- --serve   then keeps the gateway running for your own requests
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { ModelRiverClient, type StreamState, type WebSocketConstructor } from '@modelriver/client';
import { ModelRiver, type AsyncAck } from '@modelriver/node';
import { verifyWebhook } from '@modelriver/node/webhooks';
import { startGateway } from '../../gateway/src/gateway.js';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = paint(2);
const bold = paint(1);
const cyan = paint(36);
const yellow = paint(33);
const green = paint(32);
const red = paint(31);
const out = (text: string) => process.stdout.write(text);
/** How long Ctrl-C waits for the servers to close before the demo exits regardless. */
const STOP_GRACE_MS = 2_000;

const serve = process.argv.includes('--serve');

// Ctrl-C is how a user ends the demo (the only way with --serve). Dying of SIGINT would make
// npm and pnpm print an ELIFECYCLE error banner for a normal stop, so the demo closes its
// servers and exits 0 instead.
const closers: Array<() => Promise<void>> = [];
let stopping = false;
const stop = () => {
  // The terminal signals every process of the group and tsx relays the signal once more.
  if (stopping) return;
  stopping = true;
  out(dim('\n  stopped\n'));
  const closed = Promise.allSettled(closers.map((close) => close()));
  // An open stream must not hold the exit: closing gets a moment, then the process goes anyway.
  const bounded = new Promise<void>((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref());
  void Promise.race([closed, bounded]).then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

const gateway = await startGateway({
  port: serve ? Number(process.env.PORT ?? 8787) : 0,
  mockTokenDelayMs: Number(process.env.MOCK_TOKEN_DELAY_MS ?? 20),
});
closers.push(() => gateway.close());
const modelRiver = new ModelRiver({ apiKey: gateway.apiKey, baseUrl: gateway.url });

// The app's backend receives the gateway's webhooks here. For event-driven requests it verifies
// the delivery, enriches the model's output and calls back before the user sees the result.
const backend = createServer((req, res) => {
  void readBody(req).then(
    async (body) => {
      try {
        const { event } = verifyWebhook({ body, headers: req.headers, secret: gateway.webhookSecret });
        out(dim(`\n  ↳ backend: verified webhook ${event.type}`));
        if (event.type === 'task.ai_generated') {
          const enriched = { ...asRecord(event.ai_response.data), reviewed_by: 'backend', saved_as: `note-${event.channel_id.slice(0, 8)}` };
          out(dim(', calling back with enriched data'));
          await modelRiver.callback(event.channel_id, { data: enriched, task_id: `task-${event.channel_id.slice(0, 8)}` });
        }
        res.writeHead(200).end();
      } catch (error) {
        out(red(`\n  ↳ backend: rejected a webhook: ${String(error)}`));
        if (res.headersSent) res.destroy();
        else res.writeHead(400).end();
      }
    },
    (error: unknown) => {
      // The sender gave up mid-body (an aborted webhook attempt): nothing to answer, and no reason
      // to take the demo down. The gateway retries it on its schedule.
      out(dim(`\n  ↳ backend: a webhook request broke off: ${String(error)}`));
      res.destroy();
    },
  );
});
await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
closers.push(
  () =>
    new Promise<void>((resolve) => {
      backend.closeAllConnections();
      backend.close(() => resolve());
    }),
);
const webhookUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/webhooks`;

out(`${bold('ModelRiver demo')} ${dim(`gateway ${gateway.url}, mock model, no keys`)}\n`);

const runs: Array<{ workflow: string; prompt: string; title: string; webhook?: boolean; events?: string[] }> = [
  { workflow: 'chat', title: 'Plain streaming', prompt: 'Tell me about rivers.' },
  { workflow: 'chat-tools', title: 'A streamed tool call, then text', prompt: 'What is the weather in Lisbon?' },
  { workflow: 'chat-failover', title: 'The provider fails mid-stream; the next one continues', prompt: 'Explain failover.' },
  { workflow: 'chat-structured', title: 'Structured output validated against a JSON Schema', prompt: 'I loved the new release, thanks!' },
  { workflow: 'chat-event', title: 'Event-driven: the backend enriches the result and calls back', prompt: 'Take a note: buy oat milk.', webhook: true },
];

let failures = 0;
for (const run of runs) {
  out(`\n${bold(cyan(`▸ ${run.workflow}`))} ${dim(run.title)}\n  ${dim('you:')} ${run.prompt}\n  ${dim('ai:')}  `);
  const ack: AsyncAck = await modelRiver.ai.async({
    workflow: run.workflow,
    messages: [{ role: 'user', content: run.prompt }],
    metadata: { demo: true },
    ...(run.webhook ? { webhook_url: webhookUrl } : {}),
  });
  const state = await streamInTerminal(ack);
  failures += endedWell(state) ? 0 : 1;
}

if (serve) {
  out(`\n\n${bold('The gateway keeps running.')} Try:\n`);
  out(`  curl -s ${gateway.url}/v1/ai/async -H 'authorization: Bearer ${gateway.apiKey}' -H 'content-type: application/json' \\\n`);
  out(`       -d '{"workflow":"chat","messages":[{"role":"user","content":"Hi"}]}'\n`);
  out(dim(`  webhook secret: ${gateway.webhookSecret}    Ctrl-C to stop\n`));
} else {
  out('\n');
  backend.close();
  await gateway.close();
  process.exit(failures === 0 ? 0 : 1);
}

/** The browser's part: connect with the ack and render the stream as it arrives. */
async function streamInTerminal(ack: AsyncAck): Promise<StreamState> {
  const client = new ModelRiverClient({ WebSocket: WebSocket as unknown as WebSocketConstructor, persist: false });
  const stream = client.stream({
    channelId: ack.channel_id,
    wsToken: ack.ws_token,
    websocketUrl: ack.websocket_url,
    websocketChannel: ack.websocket_channel,
  });
  // Everything is rendered from the one ordered stream, so tool calls, status and text interleave
  // exactly as the gateway sent them.
  let openTool = -1;
  for await (const event of stream) {
    if (event.type !== 'tool_call' && openTool >= 0) {
      out(yellow(')') + `\n  ${dim('ai:')}  `);
      openTool = -1;
    }
    switch (event.type) {
      case 'tokens':
        out(event.payload.delta);
        break;
      case 'tool_call':
        if (event.payload.index !== openTool) out(yellow(`tool: ${event.payload.name ?? '?'}(`));
        openTool = event.payload.index;
        out(yellow(event.payload.arguments));
        break;
      case 'status':
        if (event.payload.status === 'failover') out(yellow(` [failover: ${event.payload.reason ?? 'provider failed'}, continuing on ${event.payload.provider ?? 'the next provider'}]`));
        if (event.payload.status === 'awaiting_callback') out(dim('\n  [waiting for the backend callback]'));
        break;
      case 'response':
        break;
    }
  }
  const state = client.getState();
  if (state.status === 'error') out(red(`\n  error ${state.errorCode}: ${state.error}`));
  if (state.data !== undefined && state.data !== null) out(`\n  ${dim('data:')} ${JSON.stringify(state.data)}`);
  const m = state.metrics;
  const attempts = state.response?.meta.attempts?.map((a) => `${a.provider}:${a.status}`).join(' → ');
  out((endedWell(state) ? green(`\n  ✓ ${state.status}`) : red(`\n  ✗ ${state.status}`)) + dim(` · first token ${m.ttftMs ?? '–'} ms · ${m.durationMs ?? '–'} ms · ${m.tokenCount} tokens${attempts ? ` · ${attempts}` : ''}\n`));
  client.destroy();
  return state;
}

function endedWell(state: StreamState): boolean {
  return state.status === 'success' || state.status === 'completed';
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { value };
}
