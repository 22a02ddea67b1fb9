/**
 * How Angular gets a `ModelRiverService`: `provideModelRiver()` for `providers` arrays
 * (application config, a route, a component), and `createModelRiverService()` outside DI.
 */
import { Injector, runInInjectionContext } from '@angular/core';
import type { Provider } from '@angular/core';
import { ModelRiverService } from './model-river-service.js';
import { MODEL_RIVER_OPTIONS } from './options.js';
import type { ModelRiverServiceOptions } from './options.js';

/**
 * Provides `ModelRiverService` (one per injector these providers are listed in). The service
 * calls `init(options)` when it is created, so a request persisted before a reload resumes
 * without any code; a later `init()` of yours replaces that client (still one socket).
 * Works in `bootstrapApplication`'s providers and in a component's `providers`.
 *
 * @example
 * ```ts
 * bootstrapApplication(AppComponent, {
 *   providers: [provideModelRiver({ apiBaseUrl: '/api' })],
 * });
 * // in a component:
 * readonly river = inject(ModelRiverService);
 * ```
 */
export function provideModelRiver(options: ModelRiverServiceOptions = {}): Provider[] {
  return [
    { provide: MODEL_RIVER_OPTIONS, useValue: options },
    { provide: ModelRiverService, useFactory: () => new ModelRiverService() },
  ];
}

/**
 * A service outside Angular's DI (tests, plain scripts), as the hosted SDK's factory of the
 * same name. Nothing tears it down for you: call `destroy()`.
 *
 * @example
 * ```ts
 * const river = createModelRiverService({ apiBaseUrl: '/api' });
 * river.connect(ack);
 * river.destroy();
 * ```
 */
export function createModelRiverService<TData = unknown>(options?: ModelRiverServiceOptions): ModelRiverService<TData> {
  const service = runInInjectionContext(Injector.create({ providers: [] }), () => new ModelRiverService<TData>());
  if (options !== undefined) service.init(options);
  return service;
}
