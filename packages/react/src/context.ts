/**
 * `<ModelRiverProvider>`: one client (and its options) shared down a tree. Hooks below it use
 * that client; without a provider each hook owns a client of its own.
 */
import { createContext, createElement, useContext } from 'react';
import type { ReactNode } from 'react';
import type { ModelRiverClientOptions } from '@modelriver/client';
import { useOwnedClient } from './use-owned-client.js';
import type { OwnedClient } from './owned-client.js';

/** @internal The provider's client, or null outside a provider. */
export const ModelRiverContext = createContext<OwnedClient | null>(null);

/** Props of {@link ModelRiverProvider}. */
export interface ModelRiverProviderProps {
  /** The shared client's options (read when it is created; see `useModelRiver`). */
  options?: ModelRiverClientOptions;
  /** Resume a request persisted before a reload when the provider mounts. Default true. */
  autoResume?: boolean;
  children?: ReactNode;
}

/**
 * Shares one client, created with `options`, with every `useModelRiver` and
 * `useModelRiverChat` below it. It opens on mount and closes on unmount (a request still
 * streaming stays persisted, so a reload resumes it).
 *
 * @example
 * ```tsx
 * <ModelRiverProvider options={{ apiBaseUrl: '/api' }}>
 *   <Chat />
 *   <StatusBadge />
 * </ModelRiverProvider>
 * ```
 */
export function ModelRiverProvider(props: ModelRiverProviderProps): ReactNode {
  const owned = useOwnedClient(null, props.options ?? {}, props.autoResume ?? true);
  return createElement(ModelRiverContext.Provider, { value: owned }, props.children);
}

/** @internal The provider's client, if any. */
export function useSharedClient(): OwnedClient | null {
  return useContext(ModelRiverContext);
}
