import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, resolveOptions } from './client-options.js';
import { ModelRiverClient, ModelRiverError } from './index.js';
import type { ModelRiverClientOptions } from './index.js';
import { createClient, RecordingTimers, startGateway } from '../test/harness.js';

/** The `invalid_options` error `options` make the constructor throw, or null. */
function refusal(options: ModelRiverClientOptions): ModelRiverError | null {
  try {
    new ModelRiverClient({ persist: false, ...options });
    return null;
  } catch (error) {
    if (!(error instanceof ModelRiverError)) throw error;
    return error;
  }
}

describe('options that reach setTimeout', () => {
  it('MAX_TIMER_MS is the longest delay setTimeout keeps', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
  });

  it.each<[string, string, ModelRiverClientOptions]>([
    ['joinTimeout', '2^31', { joinTimeout: MAX_TIMER_MS + 1 }],
    ['joinTimeout', 'Infinity', { joinTimeout: Infinity }],
    ['heartbeatInterval', '2^31', { heartbeatInterval: MAX_TIMER_MS + 1 }],
    ['heartbeatInterval', '1e15', { heartbeatInterval: 1e15 }],
    ['pushBuffer.timeoutMs', '2^31', { pushBuffer: { timeoutMs: MAX_TIMER_MS + 1 } }],
    ['pushBuffer.timeoutMs', 'Infinity', { pushBuffer: { timeoutMs: Infinity } }],
  ])('%s: %s is refused with invalid_options naming the maximum', (name, _label, options) => {
    const error = refusal(options);
    expect(error?.code).toBe('invalid_options');
    expect(error?.message).toContain(name);
    expect(error?.message).toContain(`<= ${MAX_TIMER_MS}`);
  });

  it('the limit itself is accepted', () => {
    const resolved = resolveOptions({ joinTimeout: MAX_TIMER_MS, heartbeatInterval: MAX_TIMER_MS, pushBuffer: { timeoutMs: MAX_TIMER_MS } });
    expect(resolved).toMatchObject({ _joinTimeoutMs: MAX_TIMER_MS, _heartbeatMs: MAX_TIMER_MS, _pushBuffer: { timeoutMs: MAX_TIMER_MS } });
  });

  it('heartbeatInterval: Infinity stays allowed and means no heartbeats', () => {
    expect(resolveOptions({ heartbeatInterval: Infinity })._heartbeatMs).toBe(Infinity);
  });

  it('a client at the limits never hands setTimeout a delay it would fire at once', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    ch.onCancel = () => undefined; // the cancel is answered ok; the request goes on
    const timers = new RecordingTimers();
    const client = createClient({ timers, heartbeatInterval: Infinity, joinTimeout: MAX_TIMER_MS, pushBuffer: { timeoutMs: MAX_TIMER_MS } });
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    await client.cancel();
    // The join timeout and the push timeout were armed with the limit; no heartbeat timer at all.
    expect(timers.delays.filter((ms) => ms === MAX_TIMER_MS)).toHaveLength(2);
    expect(timers.delays.every((ms) => Number.isFinite(ms) && ms <= MAX_TIMER_MS)).toBe(true);
  });
});

describe('options that are compared, never timed', () => {
  it.each<[string, ModelRiverClientOptions]>([
    ['requestTimeout: Infinity', { requestTimeout: Infinity }],
    ['requestTimeout: 1e13', { requestTimeout: 1e13 }],
    ['maxFrameBytes: Infinity', { maxFrameBytes: Infinity }],
    ['maxFrameBytes: 2^40', { maxFrameBytes: 2 ** 40 }],
  ])('accepts %s', (_label, options) => {
    expect(refusal(options)).toBeNull();
  });
});

describe('every positive number option', () => {
  const bad: unknown[] = [0, -1, Number.NaN, -Infinity, '5'];
  it.each<[string, (value: unknown) => ModelRiverClientOptions, unknown[]]>([
    ['heartbeatInterval', (v) => ({ heartbeatInterval: v as number }), [...bad, null]],
    ['joinTimeout', (v) => ({ joinTimeout: v as number }), [...bad, null]],
    ['requestTimeout', (v) => ({ requestTimeout: v as number }), [...bad, null]],
    ['maxFrameBytes', (v) => ({ maxFrameBytes: v as number }), [...bad, null]],
    // pushBuffer fields read null as "use the default", as they always did.
    ['pushBuffer.timeoutMs', (v) => ({ pushBuffer: { timeoutMs: v as number } }), bad],
  ])('%s refuses 0, negatives, NaN, -Infinity and strings', (name, make, values) => {
    for (const value of values) {
      const error = refusal(make(value));
      expect(error?.code, `${name}: ${String(value)}`).toBe('invalid_options');
      expect(error?.message).toMatch(new RegExp(`^${name.replace('.', '\\.')} must be a number > 0`));
    }
  });

  it('keeps the defaults when the options are left out', () => {
    expect(resolveOptions({})).toMatchObject({
      _heartbeatMs: 30_000,
      _joinTimeoutMs: 10_000,
      _maxAgeMs: 300_000,
      _maxFrameBytes: 4 * 1024 * 1024,
      _pushBuffer: { maxSize: 100, timeoutMs: 10_000 },
    });
  });
});
