/** Stand-in for `persistence.ts`: nothing is saved or restored (as with `persist: false`). */
import type { ModelRiverClient } from '../../../packages/client/src/client.js';
import type { Session } from '../../../packages/client/src/session.js';
import type { PersistedRequest, RequestStore } from '../../../packages/client/src/storage.js';

export const DEFAULT_STORAGE_KEY_PREFIX = 'modelriver_';
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
export const openStore = (): RequestStore | null => null;
export const restore = (): void => undefined;
export const heldRecord = (): PersistedRequest | null => null;
export const setResumable = (c: ModelRiverClient, held: PersistedRequest | Session | null): void => {
  c._resumable = held;
};
export const buildRecord = (): PersistedRequest => ({ channelId: '', resumeToken: null, lastSeq: 0, text: '', savedAt: 0 });
export const persist = (): void => undefined;
