/**
 * The service's options and the token `provideModelRiver(options)` hands them over with.
 */
import { InjectionToken } from '@angular/core';
import type { ModelRiverClientOptions } from '@modelriver/client';

/** Options of `ModelRiverService.init()` and `provideModelRiver()`: the client's, plus `autoResume`. */
export interface ModelRiverServiceOptions extends ModelRiverClientOptions {
  /** Resume a request persisted before a reload when the client is created (the hosted SDK does). Default true. */
  autoResume?: boolean;
}

/**
 * The options given to `provideModelRiver(options)`; a service created where they are
 * provided calls `init(options)` itself.
 *
 * @example
 * ```ts
 * providers: [{ provide: MODEL_RIVER_OPTIONS, useValue: { apiBaseUrl: '/api' } }, ModelRiverService]
 * ```
 */
export const MODEL_RIVER_OPTIONS = new InjectionToken<ModelRiverServiceOptions>('MODEL_RIVER_OPTIONS');
