/**
 * Webhook verification throughput: ours (sync on node:crypto, async on WebCrypto) beside the
 * `standardwebhooks` package's `Webhook#verify` (the anchor), for 1 KB and 1 MiB bodies, all
 * in the same run with the same secret, body and headers. Each contender is warmed up, then
 * timed over several interleaved rounds; the median round is reported, with its ratio to the anchor.
 * A measurement, never a test assertion.
 *
 * Run: npx tsx bench/node/verify.ts   (or `pnpm --filter @modelriver/node bench`)
 */
import { Webhook } from 'standardwebhooks';
import { signWebhook, verifyWebhook, verifyWebhookAsync } from '../../packages/node/src/webhooks/index.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);

/** A `task.completed` webhook body of about `size` bytes (compact JSON, as the gateway sends). */
function webhookBody(size: number): string {
  const event = {
    id: 'evt_bench_0001',
    type: 'task.completed',
    workflow: 'chat',
    status: 'success',
    channel_id: '7d1a6a8e-0a0f-4c47-9a57-1b2c3d4e5f60',
    content: '',
    meta: { provider: 'mock', model: 'mock-1', duration_ms: 12, ttft_ms: 3 },
    customer_data: {},
    timestamp: new Date().toISOString(),
  };
  const base = JSON.stringify(event).length;
  event.content = 'lorem ipsum dolor sit amet '.repeat(Math.ceil(size / 27)).slice(0, Math.max(0, size - base));
  return JSON.stringify(event);
}

type Op = () => unknown;

/** Ops per second of one round: runs `op` in batches until `budgetMs` has passed. */
async function round(op: Op, budgetMs: number): Promise<number> {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(budgetMs * 1e6);
  let now = start;
  while (now < end) {
    for (let i = 0; i < 8; i++) {
      const r = op();
      if (r instanceof Promise) await r;
    }
    n += 8;
    now = process.hrtime.bigint();
  }
  return n / (Number(now - start) / 1e9);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * Medians per contender. Rounds are interleaved (each round times every contender once) so
 * that load from other processes drifting over the run affects all of them alike.
 */
async function measureAll(ops: Op[], budgetMs: number): Promise<number[]> {
  for (const op of ops) await round(op, budgetMs); // warm-up: JIT, key caches
  const results: number[][] = ops.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, op] of ops.entries()) results[i]!.push(await round(op, budgetMs));
  }
  return results.map(median);
}

async function bench(label: string, size: number, budgetMs: number): Promise<void> {
  const body = webhookBody(size);
  const bytes = Buffer.from(body);
  const headers = signWebhook({ body, secret: SECRET, id: 'evt_bench_0001', timestamp: Math.floor(Date.now() / 1000) });
  const standard = {
    'webhook-id': headers['webhook-id'],
    'webhook-timestamp': headers['webhook-timestamp'],
    'webhook-signature': headers['webhook-signature'],
  };
  const mr = { 'mr-signature': headers['mr-signature'], 'mr-timestamp': headers['mr-timestamp'] };
  const wh = new Webhook(SECRET);

  // Each contender must accept the delivery before it is timed.
  wh.verify(body, standard);
  verifyWebhook({ body, headers: standard, secret: SECRET });
  await verifyWebhookAsync({ body, headers: standard, secret: SECRET });

  const contenders: Array<[string, Op]> = [
    ['standardwebhooks Webhook#verify (anchor)', () => wh.verify(body, standard)],
    ['verifyWebhook, string body', () => verifyWebhook({ body, headers: standard, secret: SECRET })],
    ['verifyWebhook, Buffer body', () => verifyWebhook({ body: bytes, headers: standard, secret: SECRET })],
    ['verifyWebhook, mr-* headers', () => verifyWebhook({ body, headers: mr, secret: SECRET })],
    ['verifyWebhookAsync (WebCrypto), string body', () => verifyWebhookAsync({ body, headers: standard, secret: SECRET })],
    ['verifyWebhookAsync (WebCrypto), Buffer body', () => verifyWebhookAsync({ body: bytes, headers: standard, secret: SECRET })],
  ];

  console.log(`\n${label} body (${bytes.length} B), median of ${ROUNDS} interleaved rounds of ${budgetMs} ms`);
  const medians = await measureAll(contenders.map(([, op]) => op), budgetMs);
  const anchor = medians[0]!;
  contenders.forEach(([name], i) => {
    const ops = medians[i]!;
    console.log(`  ${name.padEnd(46)} ${ops.toFixed(ops < 100 ? 1 : 0).padStart(9)} verifications/s  ${(ops / anchor).toFixed(2).padStart(6)}×`);
  });
}

console.log(`Node ${process.version}; ratios are against standardwebhooks in the same run.`);
await bench('1 KB', 1024, 250);
await bench('1 MiB', 1 << 20, 600);
