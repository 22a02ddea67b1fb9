import { describe, expect, it } from 'vitest';
import { ConnectionError, InvalidRequestError, RateLimitError, ServerError, TimeoutError } from '../client/errors.js';
import { isTransientError } from './transient-error.js';

describe('isTransientError', () => {
  it('counts failed network calls and timeouts as transient', () => {
    const init = { code: 'x' };
    for (const e of [new ConnectionError('m', init), new TimeoutError('m', init), new ServerError('m', init), new RateLimitError('m', init)]) {
      expect(isTransientError(e), e.name).toBe(true);
    }
    expect(isTransientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    // fetch's own failure: a TypeError whose cause carries the network code.
    expect(isTransientError(new TypeError('fetch failed', { cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isTransientError(new DOMException('signal timed out', 'TimeoutError'))).toBe(true);
  });

  it('counts bugs, bad data and refused calls as final', () => {
    expect(isTransientError(new TypeError("Cannot read properties of undefined (reading 'sku')"))).toBe(false);
    expect(isTransientError(new Error('inventory service down'))).toBe(false);
    expect(isTransientError(new InvalidRequestError('bad', { code: 'invalid_request', status: 400 }))).toBe(false);
    expect(isTransientError(new DOMException('aborted', 'AbortError'))).toBe(false);
    expect(isTransientError('a string')).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });

  it('lets the error decide with an own `retryable` boolean', () => {
    expect(isTransientError(Object.assign(new Error('busy'), { retryable: true }))).toBe(true);
    expect(isTransientError(Object.assign(new ConnectionError('m', { code: 'x' }), { retryable: false }))).toBe(false);
    expect(isTransientError(Object.assign(new Error('m'), { retryable: 'yes' }))).toBe(false);
  });
});
