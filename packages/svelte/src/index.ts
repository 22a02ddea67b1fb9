/**
 * `@modelriver/svelte`: Svelte stores over `@modelriver/client`'s store, for Svelte 4 and 5. The
 * logic stays in the client; this layer mirrors its state into readable stores, owns the
 * client's lifecycle (closed with the component that created it) and updates at most once per
 * animation frame.
 */
export { createModelRiver } from './create-model-river.js';
export type { CreateModelRiverOptions, ModelRiverCallbacks, ModelRiverStores, ModelRiverSvelteStore, PartialData } from './create-model-river.js';
