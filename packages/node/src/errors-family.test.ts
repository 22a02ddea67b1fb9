import * as client from '@modelriver/client';
import { ModelRiverError } from '@modelriver/client';
import * as node from './index.js';
import * as webhooks from './webhooks/index.js';
import { describe, expect, it, vi } from 'vitest';

type ErrorClass = abstract new (...args: never[]) => Error;

const isErrorClass = (value: unknown): value is ErrorClass =>
  typeof value === 'function' && (value === Error || (value as { prototype?: unknown }).prototype instanceof Error);

/** Every distinct error class a module exports (aliases of one class count once). */
function errorClasses(...modules: object[]): Set<ErrorClass> {
  return new Set(modules.flatMap((m) => Object.values(m).filter(isErrorClass)));
}

// One instance of every error class the node package exports. A new exported class fails the
// first test until it is added here, so it cannot join the exports outside the family.
const api = { code: 'some_code', status: 418, requestId: 'req_1' };
const samples = new Map<ErrorClass, Error>([
  [ModelRiverError, new ModelRiverError('invalid_argument', 'bad option')],
  [node.APIError, new node.APIError('teapot', api)],
  [node.AuthenticationError, new node.AuthenticationError('no key', { ...api, status: 401 })],
  [node.RateLimitError, new node.RateLimitError('slow down', { ...api, status: 429, retryAfterMs: 1_000 })],
  [node.NotFoundError, new node.NotFoundError('gone', { ...api, status: 404 })],
  [node.InvalidRequestError, new node.InvalidRequestError('bad body', { code: 'invalid_argument' })],
  [node.ConnectionError, new node.ConnectionError('unreachable', { code: 'connection_error', cause: new Error('ECONNREFUSED') })],
  [node.TimeoutError, new node.TimeoutError('too slow', { code: 'timeout' })],
  [node.ServerError, new node.ServerError('fault', { ...api, status: 503 })],
  [node.RequestAbortedError, new node.RequestAbortedError('aborted', { code: 'aborted', cause: 'stop' })],
  [webhooks.WebhookVerificationError, new webhooks.WebhookVerificationError('bad_signature', 'No signature matched.')],
]);

describe('one error family across the suite', () => {
  it('every error class of every public entry of @modelriver/node is a ModelRiverError', () => {
    const exported = errorClasses(node, webhooks);
    expect(exported.has(ModelRiverError)).toBe(true);
    expect(new Set(samples.keys())).toEqual(exported);
    for (const [cls, error] of samples) {
      expect(error, cls.name).toBeInstanceOf(cls);
      expect(error, cls.name).toBeInstanceOf(ModelRiverError);
      expect(typeof (error as ModelRiverError).code, cls.name).toBe('string');
    }
    // `import { ModelRiverError } from '@modelriver/node'` is the client's class, so it also
    // catches what the stream (the client) throws.
    expect(node.ModelRiverError).toBe(client.ModelRiverError);
    expect(node.StreamError).toBe(client.ModelRiverError);
  });

  it('no two error classes of the client and node packages share a name', () => {
    const classes = [...errorClasses(client, node, webhooks)];
    const instanceNames = classes.map((cls) => samples.get(cls)?.name ?? (cls.prototype as Error).name);
    expect(new Set(instanceNames).size, instanceNames.join(', ')).toBe(classes.length);
    expect(new Set(classes.map((cls) => cls.name)).size).toBe(classes.length);
    expect(instanceNames).not.toContain('Error');
  });

  it('each error names its own class from its first stack line on, not the base class', () => {
    for (const [cls, error] of samples) {
      const expected = cls === node.RequestAbortedError ? 'AbortError' : cls.name;
      expect(error.name).toBe(expected);
      expect(error.stack?.split('\n')[0], cls.name).toBe(`${expected}: ${error.message}`);
      expect(String(error)).toBe(`${expected}: ${error.message}`);
      // On the prototype, not the instance: it would show up as an extra field in logs otherwise.
      expect(Object.hasOwn(error, 'name'), cls.name).toBe(false);
    }
  });

  it('keeps what each kind carries: status and requestId, retryAfterMs, hint and its HTTP status, isAbort', () => {
    const rate = samples.get(node.RateLimitError) as node.RateLimitError;
    expect(rate).toMatchObject({ code: 'some_code', status: 429, requestId: 'req_1', retryAfterMs: 1_000, isAbort: false });
    expect(rate.toJSON()).toMatchObject({ name: 'RateLimitError', code: 'some_code', status: 429, retryAfterMs: 1_000 });
    const aborted = samples.get(node.RequestAbortedError) as node.RequestAbortedError;
    expect(aborted).toMatchObject({ name: 'AbortError', code: 'aborted', isAbort: true, cause: 'stop' });
    const connection = samples.get(node.ConnectionError) as node.ConnectionError;
    expect(connection.toJSON().cause).toEqual({ name: 'Error', message: 'ECONNREFUSED' });
    const webhook = samples.get(webhooks.WebhookVerificationError) as webhooks.WebhookVerificationError;
    expect(webhook).toMatchObject({ code: 'bad_signature', status: 400, hint: undefined });
    expect(webhook.toJSON()).toEqual({ name: 'WebhookVerificationError', code: 'bad_signature', message: 'No signature matched.' });
  });

  it('ModelRiverError.is(e, code) recognises every node error by its code', () => {
    for (const [cls, error] of samples) {
      const { code } = error as ModelRiverError;
      expect(ModelRiverError.is(error, code), cls.name).toBe(true);
      expect(ModelRiverError.is(error, 'some_other_code'), cls.name).toBe(false);
    }
  });

  it('ModelRiverError.is(e, code) works across a second copy of the client, where instanceof does not', async () => {
    vi.resetModules();
    const copy = await import('@modelriver/client');
    expect(copy.ModelRiverError).not.toBe(ModelRiverError);
    for (const [cls, error] of samples) {
      const { code } = error as ModelRiverError;
      expect(error instanceof copy.ModelRiverError).toBe(false);
      expect(copy.ModelRiverError.is(error, code), cls.name).toBe(true);
      expect(copy.ModelRiverError.is(error, 'some_other_code'), cls.name).toBe(false);
    }
    // Nor does a look-alike from outside the family pass.
    expect(copy.ModelRiverError.is(Object.assign(new Error('x'), { code: 'bad_signature' }), 'bad_signature')).toBe(false);
    expect(copy.ModelRiverError.is(Object.assign(new TypeError('x'), { code: 'timeout' }))).toBe(false);
  });
});
