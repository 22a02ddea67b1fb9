/** Stand-in for `notifier.ts`: every state change is delivered at once (`notify: 'sync'` only). */
import type { Notifier } from '../../../packages/client/src/notifier.js';

export type { Notifier, NotifierEnv } from '../../../packages/client/src/notifier.js';
export function createNotifier(_mode: unknown, _env: unknown, deliver: () => void): Notifier {
  return { _schedule: deliver, _flush: () => undefined, _dispose: () => undefined };
}
