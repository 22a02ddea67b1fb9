/**
 * Stand-in for `resume-record.ts`: nothing is saved, restored or held for a resume (as with
 * `persist: false`, and not even in memory), so `hasPendingRequest()` is always false.
 */
import type { ResumeRecord as Real } from '../../../packages/client/src/resume-record.js';
import type { PersistedRequest, RequestStore } from '../../../packages/client/src/storage.js';

export type { LiveFields, LiveRequest } from '../../../packages/client/src/resume-record.js';
export const DEFAULT_STORAGE_KEY_PREFIX = 'modelriver_';
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;
export const openStore = (): RequestStore | null => null;

export class ResumeRecord implements Pick<Real, '_restore' | '_record' | '_load' | '_pending' | '_keep' | '_forget' | '_flush'> {
  _restore(): void {}
  _record(): PersistedRequest | null {
    return null;
  }
  _load(): PersistedRequest | null {
    return null;
  }
  _pending(): boolean {
    return false;
  }
  _keep(): void {}
  _forget(): void {}
  _flush(): void {}
}
