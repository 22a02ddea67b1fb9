/** The benchmarks' stand-in for generation: every channel gets `tokensPerSecond` stamped tokens. */
import { wallNow } from './clock.js';
import { stampToken } from './token-stamp.js';

/** The publisher ticks this many times per token period, each tick serving one slice of the channels. */
const SLOTS = 10;

/** A running publisher. */
export interface TokenPublisher {
  stop(): void;
}

/**
 * Publishes one token per period to each of `channels` channels through `publish`, the channels
 * staggered over the period. A late tick catches up, so the offered rate holds when the loop is busy.
 *
 * @example
 * ```ts
 * const publisher = startTokenPublisher(20, handles.length, (i, delta) => handles[i].publish('tokens', { delta }));
 * publisher.stop();
 * ```
 */
export function startTokenPublisher(
  tokensPerSecond: number,
  channels: number,
  publish: (index: number, delta: string) => void,
): TokenPublisher {
  const slotMs = 1000 / tokensPerSecond / SLOTS;
  let slot = 0;
  let nextAt = wallNow();
  const timer = setInterval(() => {
    const now = wallNow();
    while (nextAt <= now) {
      const delta = stampToken(nextAt);
      for (let i = slot; i < channels; i += SLOTS) publish(i, delta);
      slot = (slot + 1) % SLOTS;
      nextAt += slotMs;
    }
  }, slotMs);
  return { stop: () => clearInterval(timer) };
}
