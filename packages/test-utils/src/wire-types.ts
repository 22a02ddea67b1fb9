/**
 * The wire types this package speaks, taken straight from the client's shared
 * definitions. A relative path rather than `@modelriver/client`: this private
 * package is never built, and its files are typechecked by every package whose
 * tests import it; through the package name they would need the client's
 * `dist` to exist first. Type-only, so nothing of the client runs in the fake.
 */
export type { ConnectOptions } from '../../client/src/types.js';
export type {
  Frame,
  JoinErrorReason,
  ResponsePayload,
  ResponseStatus,
  ServerEvent,
  ServerEventMap,
  ServerEventName,
  StatusPayload,
  StatusValue,
  TokensPayload,
  ToolCallPayload,
} from '../../client/src/protocol.js';
