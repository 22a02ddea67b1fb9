/**
 * `@modelriver/vue`: a Vue composable over `@modelriver/client`'s store. The logic stays in the
 * client; this layer mirrors its state into refs, owns the client's lifecycle (closed with the
 * component or effect scope) and updates at most once per animation frame.
 */
export { useModelRiver } from './use-model-river.js';
export type {
  ModelRiverCallbacks,
  PartialData,
  StateRef,
  UseModelRiverOptions,
  UseModelRiverReturn,
  UseModelRiverVueReturn,
} from './use-model-river.js';
