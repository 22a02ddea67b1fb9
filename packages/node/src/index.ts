/**
 * `@modelriver/node`: the server helper. A typed HTTP API client with retries, webhook
 * verification and handlers for Express, Fastify and Fetch runtimes, and server-side streaming.
 */
export { ModelRiver } from './client/model-river.js';
export type { ModelRiverOptions, CallbackOptions, CallbackAnswer } from './client/model-river.js';
export type { RequestOptions } from './client/transport.js';
// One error family: every error this package throws is a ModelRiverError (the client's class).
export { ModelRiverError, ErrorCode } from '@modelriver/client/errors';
export type { ModelRiverErrorOptions } from '@modelriver/client/errors';
export {
  APIError,
  AuthenticationError,
  RateLimitError,
  NotFoundError,
  InvalidRequestError,
  ConnectionError,
  TimeoutError,
  ServerError,
  RequestAbortedError,
  fromResponse,
} from './client/errors.js';
export type { APIErrorInit } from './client/errors.js';

export { streamChannel, toSSE, formatSSE, SSE_HEADERS } from './stream.js';
export type { StreamChannelOptions } from './stream.js';
export { StreamError } from './stream-error.js';
export { contentDigest, verifyStreamDigest } from './stream-digest.js';
export type { StreamDigestFields, VerifyStreamDigestInput, StreamDigestResult, StreamDigestFailureCode } from './stream-digest.js';
export type { EventStream, StreamEvent, AIResponse, TokenGrant } from '@modelriver/client';

export { createWebhookHandler } from './handler/webhook-handler.js';
export type {
  WebhookHandler,
  WebhookHandlerOptions,
  WebhookHandlerResult,
  WebhookContext,
  UnknownWebhookContext,
  RawWebhookRequest,
  AiGeneratedResult,
  CompletedWebhook,
  FailedWebhook,
  AiGeneratedWebhook,
} from './handler/webhook-handler.js';
export type { UnknownWebhookEvent } from './handler/unknown-event.js';
export { isTransientError } from './handler/transient-error.js';
export { createMemoryIdempotencyStore } from './handler/idempotency-store.js';
export type { WebhookIdempotencyStore, MemoryIdempotencyStoreOptions } from './handler/idempotency-store.js';
export { webhookMiddleware, getVerifiedWebhook } from './adapters/express.js';
export type { ExpressWebhookOptions, WebhookRequest } from './adapters/express.js';
export { createFetchWebhookHandler } from './adapters/fetch.js';
export type { FetchWebhookHandlerOptions } from './adapters/fetch.js';
export { fastifyWebhookPlugin } from './adapters/fastify.js';
export type { FastifyWebhookPluginOptions, FastifyInstanceLike, FastifyReplyLike } from './adapters/fastify.js';

export {
  verifyWebhook,
  verifyWebhookSignature,
  verifyWebhookAsync,
  verifyWebhookSignatureAsync,
  WebhookVerificationError,
  WebhookErrorCode,
  signWebhook,
  standardWebhooksKey,
} from './webhooks/index.js';
export type {
  SignWebhookInput,
  WebhookSignatureHeaders,
  VerifyWebhookOptions,
  VerifiedSignature,
  VerifiedWebhook,
  WebhookScheme,
  WebhookSecretOptions,
  WebhookHeaders,
  WebhookBody,
  WebhookEvent,
  WebhookType,
} from './webhooks/index.js';

export type {
  ChatMessage,
  DeliveryMethod,
  AiRequestBody,
  AsyncAck,
  SyncAnswer,
  ReconnectAnswer,
  CallbackBody,
  ErrorAnswer,
  ErrorBody,
  ResponseMeta,
  RequestLog,
  WebhookAttemptLog,
} from './wire.js';
