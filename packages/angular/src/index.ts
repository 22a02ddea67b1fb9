/**
 * `@modelriver/angular`: the hosted SDK's `ModelRiverService` over `@modelriver/client`'s
 * store, with signals for the streaming fields. The logic stays in the client; this layer
 * owns the client's lifecycle (torn down with its injector) and mirrors its state.
 */
export { ModelRiverService } from './model-river-service.js';
export type { PartialData } from './model-river-service.js';
export { createModelRiverService, provideModelRiver } from './provide-model-river.js';
export { MODEL_RIVER_OPTIONS } from './options.js';
export type { ModelRiverServiceOptions } from './options.js';
