import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseServerEvent } from './events.js';
import type { ServerEvent } from './protocol.js';
import { classifySeq, initialStreamState, isTerminalStatus, reduceStream, type StreamAction } from './stream-state.js';
import type { StreamState } from './types.js';

const EVENT_NAMES = ['tokens', 'status', 'tool_call', 'response'] as const;

/**
 * One seed per run, so a failure can be replayed: fast-check prints it with any
 * failing property, and the coverage checks below print it too. Reproduce with
 * `FC_SEED=<seed> npx vitest run packages/client/src/stream-state.property.test.ts`.
 */
const seed = process.env.FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FC_SEED);
fc.configureGlobal({ seed });

/** Junk that shows up where a typed field is expected. */
const junk = fc.constantFrom<unknown>(null, undefined, -1, 0, 1.5, Number.NaN, Infinity, '', '7', [], {}, true);

const seqLike = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }) }, { weight: 1, arbitrary: junk });
const stringLike = fc.oneof({ weight: 4, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: junk });
const argumentsLike = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('{', '}', '"a":', '1', ',', '[', ']', ' ', '{"x":[1]}', '"') },
  { weight: 1, arbitrary: junk },
);
const objectLike = fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })), junk);

/** Payload shapes close enough to the contract to reach the reducer often, wrong often enough to test validation. */
const payloadLike = fc.record(
  {
    seq: seqLike,
    first_seq: seqLike,
    delta: stringLike,
    status: fc.oneof(
      fc.constantFrom('queued', 'processing', 'failover', 'ai_generated', 'awaiting_callback'),
      fc.constantFrom('success', 'error', 'cancelled', 'completed', 'ai_generated'),
      stringLike,
    ),
    index: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: junk }),
    arguments: argumentsLike,
    id: stringLike,
    name: stringLike,
    channel_id: stringLike,
    content: stringLike,
    meta: objectLike,
    error: fc.oneof(fc.record({ code: stringLike, message: stringLike }, { requiredKeys: [] }), junk),
    data: fc.jsonValue({ maxDepth: 2 }),
    ai_response: objectLike,
  },
  { requiredKeys: [] },
);

/** Well-formed payloads (their `seq` is set at delivery time), so that many frames reach the reducer. */
const wellFormed = fc.oneof(
  { weight: 12, arbitrary: fc.record({ event: fc.constant('tokens'), payload: fc.record({ delta: fc.string({ maxLength: 6 }) }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      event: fc.constant('status'),
      payload: fc.record({ status: fc.constantFrom('queued', 'processing', 'failover', 'ai_generated', 'awaiting_callback') }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      event: fc.constant('tool_call'),
      payload: fc.record(
        { index: fc.integer({ min: 0, max: 2 }), arguments: fc.constantFrom('{', '}', '"a":1', '[1]', ' '), id: fc.string() },
        { requiredKeys: ['index', 'arguments'] },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      event: fc.constant('response'),
      payload: fc.record(
        {
          status: fc.constantFrom('success', 'error', 'cancelled', 'ai_generated', 'completed'),
          channel_id: fc.constant('c'),
          meta: fc.constant({}),
          content: fc.string({ maxLength: 6 }),
        },
        { requiredKeys: ['status', 'channel_id'] },
      ),
    }),
  },
);

/**
 * One incoming frame. With `relative`, its `seq` is set at delivery time to the
 * highest applied seq plus an offset (mostly the next one), and `first_seq` to
 * `seq - span`, so long runs of applicable events happen; absolute random seqs
 * would almost always be gaps.
 */
const relative = fc.record({
  offset: fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: -2, max: 3 }) }),
  span: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }),
});
const incoming = fc.oneof(
  { weight: 3, arbitrary: fc.record({ event: fc.string(), payload: fc.anything(), relative: fc.option(relative, { nil: undefined }) }) },
  {
    weight: 9,
    arbitrary: fc.record({
      event: fc.constantFrom(...EVENT_NAMES),
      payload: payloadLike,
      relative: fc.option(relative, { nil: undefined }),
    }),
  },
  { weight: 20, arbitrary: fc.tuple(wellFormed, relative).map(([w, r]) => ({ ...w, relative: r })) },
);

/** A model of what the reducer must do, written independently of it. */
interface Model {
  lastSeq: number;
  text: string;
  tokenCount: number;
  terminal: boolean;
}

describe('stream state: properties', () => {
  it('any frames through parse → classify → reduce: never throws, invariants hold', () => {
    // Counted so the test fails if the generators stop reaching the reducer.
    let applied = 0;
    let afterTerminal = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            { weight: 12, arbitrary: incoming },
            // `skip` of the next seq (offset 1) or of a wrong one, as the client sends it after an invalid event.
            { weight: 1, arbitrary: fc.record({ skip: fc.integer({ min: -1, max: 2 }) }) },
            {
              weight: 1,
              arbitrary: fc.constantFrom<StreamAction>(
                { type: 'connection', state: 'reconnecting' },
                { type: 'connection', state: 'connected' },
                { type: 'joined', at: 5 },
                { type: 'pending', hasPendingRequest: true },
                { type: 'failed', code: 'connection_failed', message: 'gave up', at: 9 },
              ),
            },
          ),
          { minLength: 20, maxLength: 80 },
        ),
        (inputs) => {
          let state: StreamState = reduceStream(initialStreamState(), { type: 'start', channelId: 'c', at: 0 });
          const model: Model = { lastSeq: 0, text: '', tokenCount: 0, terminal: false };
          let at = 0;
          for (const input of inputs) {
            at++;
            const previous = state;
            if ('skip' in input) {
              const seq = model.lastSeq + input.skip;
              state = reduceStream(state, { type: 'skip', seq });
              if (!model.terminal && seq === model.lastSeq + 1) model.lastSeq = seq;
              expect(state.text).toBe(previous.text);
            } else if ('type' in input) {
              state = reduceStream(state, input);
              if (input.type === 'failed') model.terminal = true;
            } else {
              let payload: unknown = input.payload;
              if (input.relative !== undefined && typeof payload === 'object' && payload !== null) {
                const seq = model.lastSeq + input.relative.offset;
                payload = { ...payload, seq, first_seq: seq - input.relative.span };
              }
              const parsed = parseServerEvent(input.event, payload);
              if (!parsed.ok) {
                expect(['unknown_event', 'invalid_payload']).toContain(parsed.code);
                expect(typeof parsed.message).toBe('string');
                continue;
              }
              const event: ServerEvent = parsed.value;
              const p = event.payload as { seq: number; first_seq?: number };
              const verdict = classifySeq(state.lastSeq, p);
              if (verdict !== 'apply') continue;
              applied++;
              if (model.terminal) afterTerminal++;
              state = reduceStream(state, { type: 'event', event, at });
              if (!model.terminal) {
                model.lastSeq = p.seq;
                if (event.event === 'tokens') {
                  model.text += event.payload.delta;
                  model.tokenCount += p.seq - (p.first_seq ?? p.seq) + 1;
                } else if (event.event === 'response') {
                  if (event.payload.content !== undefined) model.text = event.payload.content;
                  if (event.payload.status !== 'ai_generated') model.terminal = true;
                }
              }
            }
            expect(state.lastSeq).toBeGreaterThanOrEqual(previous.lastSeq);
            expect(state.lastSeq).toBe(model.lastSeq);
            expect(state.text).toBe(model.text);
            expect(state.metrics.tokenCount).toBe(model.tokenCount);
            expect(isTerminalStatus(state.status)).toBe(model.terminal);
            if (isTerminalStatus(previous.status)) expect(state.status).toBe(previous.status);
            for (const call of state.toolCalls) {
              if (call.complete) expect(call.arguments).not.toBeUndefined();
            }
          }
        },
      ),
      { numRuns: 200 },
    );
    // Coverage, not correctness: the generators must keep reaching the reducer. The old bound
    // (3 000) sat less than 2σ under the mean (≈ 3 160, σ ≈ 90 over 150 seeds), so about one run
    // in 25 failed with no bug at all: that was the flaky failure. With the `skip` inputs the mean
    // is ≈ 2 910 (σ ≈ 73 over 300 seeds); 2 400 is 7σ away and still fails if generation breaks.
    expect(applied, `applied events; seed ${seed}`).toBeGreaterThan(200 * 12);
    expect(afterTerminal, `events after a terminal status; seed ${seed}`).toBeGreaterThan(200);
  });

  /** The server's log for `text` cut at `cuts`, with status events interleaved, ending in a content-less response. */
  function buildLog(text: string, cuts: number[], statusEvery: number): ServerEvent[] {
    const bounds = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
    const pieces: string[] = [];
    let from = 0;
    for (const b of [...bounds, text.length]) {
      pieces.push(text.slice(from, b));
      from = b;
    }
    const log: ServerEvent[] = [];
    for (const delta of pieces) {
      if (statusEvery > 0 && log.length % statusEvery === statusEvery - 1) {
        log.push({ event: 'status', payload: { seq: log.length + 1, status: 'processing' } });
      }
      log.push({ event: 'tokens', payload: { seq: log.length + 1, delta } });
    }
    // No `content`: the text must come out of the deltas alone, so a lost or doubled delta shows.
    log.push({ event: 'response', payload: { seq: log.length + 1, status: 'success', channel_id: 'c', meta: {} } });
    return log;
  }

  /** Frame for log[a..b] (1-based seqs): consecutive tokens merge into one frame, as a replay may send them. */
  function frame(log: ServerEvent[], a: number, b: number): ServerEvent {
    const first = log[a - 1] as ServerEvent;
    if (b <= a || first.event !== 'tokens') return first;
    let delta = '';
    let end = a;
    for (let s = a; s <= b; s++) {
      const e = log[s - 1] as ServerEvent;
      if (e.event !== 'tokens') break;
      delta += e.payload.delta;
      end = s;
    }
    return end === a ? first : { event: 'tokens', payload: { seq: end, first_seq: a, delta } };
  }

  it('a well-formed stream delivered with duplicates, replays and disorder yields the original text exactly', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 120 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(
          fc.oneof(
            // A stray frame from anywhere in the log (disorder, duplicates).
            fc.record({ kind: fc.constant('frame' as const), at: fc.nat(), span: fc.nat(4) }),
            // A resume: the server replays from a point (at or before what we have) to a later point.
            fc.record({
              kind: fc.constant('replay' as const),
              back: fc.nat(6),
              length: fc.nat(30),
              merge: fc.nat(3),
            }),
          ),
          { maxLength: 30 },
        ),
        (text, cuts, statusEvery, deliveries) => {
          const log = buildLog(text, cuts, statusEvery);
          const n = log.length;
          let state = reduceStream(initialStreamState(), { type: 'start', channelId: 'c', at: 0 });
          const deliver = (e: ServerEvent): void => {
            if (classifySeq(state.lastSeq, e.payload as { seq: number; first_seq?: number }) === 'apply') {
              state = reduceStream(state, { type: 'event', event: e, at: 1 });
            }
          };
          const replay = (from: number, to: number, merge: number): void => {
            for (let s = from; s <= to; ) {
              const e = frame(log, s, Math.min(to, s + merge));
              deliver(e);
              s = e.payload.seq + 1;
            }
          };
          for (const d of deliveries) {
            if (d.kind === 'frame') {
              const a = (d.at % n) + 1;
              deliver(frame(log, a, Math.min(n, a + d.span)));
            } else {
              const from = Math.max(1, state.lastSeq + 1 - d.back);
              replay(from, Math.min(n, from + d.length), d.merge);
            }
          }
          // Finally the client rejoins with last_seq and gets everything after it.
          replay(state.lastSeq + 1, n, 2);

          expect(state.status).toBe('success');
          expect(state.text).toBe(text);
          expect(state.lastSeq).toBe(n);
          expect(state.metrics.tokenCount).toBe(log.filter((e) => e.event === 'tokens').length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('parseServerEvent never throws, whatever it is given', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...EVENT_NAMES), fc.string()),
        fc.oneof(fc.anything({ withNullPrototype: true, withBigInt: true, withMap: true, withSet: true }), payloadLike),
        (event, payload) => {
          const result = parseServerEvent(event, payload);
          if (result.ok) {
            expect(result.value.event).toBe(event);
            expect(Number.isSafeInteger(result.value.payload.seq) && result.value.payload.seq >= 1).toBe(true);
          } else {
            expect(['unknown_event', 'invalid_payload']).toContain(result.code);
            expect(result.message.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
