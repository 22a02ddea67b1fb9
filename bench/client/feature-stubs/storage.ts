/** Stand-in for `storage.ts` (with persistence left out, no storage is opened). */
import type { KeyValueStorage } from '../../../packages/client/src/types.js';

export type { PersistedRequest, RequestStore } from '../../../packages/client/src/storage.js';
export const defaultStorage = (): KeyValueStorage | null => null;
