/**
 * The seam between the runner and the other gateway nodes. In one process there are none, and
 * the {@link localCoordinator} does nothing. With Redis, each running request holds a lease its
 * node renews; a node whose lease lapsed (it died) has its requests taken over by another, which
 * continues them from what the channel already holds; and a backend's callback is routed to
 * whichever node runs the request.
 */
import type { CallbackBody, ChatMessage } from '@modelriver/node';

/** What another node needs to continue a request: the accepted request, by value. */
export interface RunSpec {
  channelId: string;
  projectId: string | null;
  webhookSecret: string | null;
  workflow: string;
  messages: ChatMessage[];
  metadata: Record<string, unknown>;
  webhookUrl: string | null;
  events: string[];
  mode: 'async' | 'sync';
  publicBase: string;
  /** Epoch ms the request was accepted. */
  startedAt: number;
  /** Epoch ms the callback is due by, once the request waits for one. */
  callbackDeadline?: number;
}

/** What the coordinator asks of the runner. */
export interface CoordinatorHost {
  /** Another node's request whose lease lapsed is now this node's: continue it. */
  takeOver(spec: RunSpec): Promise<void>;
  /** This node lost the lease of a request it runs (it was thought dead): stop it, publish nothing. */
  lost(channelId: string): void;
  /** A callback for a request this node runs, routed from another node (throws GatewayError like {@link Runner.callback}). */
  callback(channelId: string, body: CallbackBody): void;
  reportError(error: unknown): void;
}

/** See the module comment. */
export interface RunCoordinator {
  bind(host: CoordinatorHost): void;
  /** A request starts on this node; resolves once another node could continue it. */
  started(spec: RunSpec): Promise<void>;
  /** The request now waits for its callback until `spec.callbackDeadline`. */
  updated(spec: RunSpec): void;
  /** The request ended: nobody needs to continue it. */
  ended(channelId: string): void;
  /**
   * Routes a callback to the node that runs the request. Resolves `false` when no node runs it
   * (the caller answers from the request log), rejects with the owner's GatewayError.
   */
  routeCallback(channelId: string, body: CallbackBody): Promise<boolean>;
  /** Stops renewing; the requests of this node are released for another node to continue. */
  close(): Promise<void>;
}

/**
 * The coordinator of a gateway that is the only node: nothing to share, nobody to take over.
 *
 * @example
 * ```ts
 * const runner = new Runner({ ...deps, coordinator: localCoordinator() });
 * ```
 */
export function localCoordinator(): RunCoordinator {
  return {
    bind() {},
    started: () => Promise.resolve(),
    updated() {},
    ended() {},
    routeCallback: () => Promise.resolve(false),
    close: () => Promise.resolve(),
  };
}
