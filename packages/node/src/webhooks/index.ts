/**
 * `@modelriver/node/webhooks`: webhook verification for Node (`verifyWebhook`, on `node:crypto`)
 * and any WebCrypto runtime (`verifyWebhookAsync`). Its one dependency is the client's error class.
 */
export { verifyWebhook, verifyWebhookSignature } from './verify.js';
export { verifyWebhookAsync, verifyWebhookSignatureAsync } from './verify-async.js';
export { WebhookVerificationError, WebhookErrorCode } from './errors.js';
// The root of WebhookVerificationError (the client's class), for `instanceof` and `ModelRiverError.is`.
export { ModelRiverError } from '@modelriver/client/errors';
export { signWebhook, standardWebhooksKey } from './sign.js';
export type { SignWebhookInput, WebhookSignatureHeaders } from './sign.js';
export type { VerifyWebhookOptions, VerifiedSignature, VerifiedWebhook, WebhookScheme, WebhookSecretOptions } from './verify-core.js';
export type { WebhookHeaders } from './headers.js';
export type { WebhookBody } from './body.js';
export type { WebhookEvent, WebhookType } from '../wire.js';
