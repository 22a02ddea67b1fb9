import { HttpResponse } from 'msw';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, BASE, mockApi } from '../../test/support/api-mock.js';
import { ModelRiverError } from '@modelriver/client';
import {
  APIError,
  AuthenticationError,
  ConnectionError,
  InvalidRequestError,
  NotFoundError,
  RateLimitError,
  ServerError,
  fromResponse,
} from './errors.js';
import { ModelRiver } from './model-river.js';

const api = mockApi();
beforeAll(api.listen);
afterEach(api.reset);
afterAll(api.close);

const body = { workflow: 'chat', messages: [{ role: 'user', content: 'Hi' }] };
const noWait = { sleep: async () => {}, random: () => 0 };

/** Everything an error could leak through when logged or serialised. */
function everyRendering(err: unknown): string {
  const e = err as Error;
  return [e.message, e.stack, JSON.stringify(err), inspect(err, { depth: 10, showHidden: true }), String(e.cause), JSON.stringify(e.cause)].join('\n');
}

describe('fromResponse', () => {
  const cases: Array<[number, new (...a: never[]) => APIError]> = [
    [400, InvalidRequestError],
    [401, AuthenticationError],
    [403, AuthenticationError],
    [404, NotFoundError],
    [409, InvalidRequestError],
    [413, InvalidRequestError],
    [422, InvalidRequestError],
    [429, RateLimitError],
    [500, ServerError],
    [502, ServerError],
    [503, ServerError],
  ];
  it.each(cases)('maps %i to %o', (status, cls) => {
    const err = fromResponse(status, { error: { code: 'some_code', message: 'Some message' } }, new Headers({ 'x-request-id': 'req_1' }));
    expect(err).toBeInstanceOf(cls);
    expect(err).toBeInstanceOf(APIError);
    expect(err).toBeInstanceOf(ModelRiverError);
    expect(err).toMatchObject({ status, code: 'some_code', requestId: 'req_1' });
    expect(err.message).toContain('Some message');
  });

  it('falls back to http_<status> and the text of a non-JSON body; other statuses stay APIError', () => {
    const err = fromResponse(418, '  I am a teapot  ', {});
    expect(err.constructor).toBe(APIError);
    expect(err).toMatchObject({ status: 418, code: 'http_418', requestId: undefined });
    expect(err.message).toContain('I am a teapot');
    expect(fromResponse(502, undefined).message).toContain('HTTP 502');
  });

  it('reads x-request-id from a plain object in any case, and keeps retryAfterMs on 429', () => {
    const err = fromResponse(429, null, { 'X-Request-Id': 'abc' }, 1500) as RateLimitError;
    expect(err).toMatchObject({ requestId: 'abc', retryAfterMs: 1500, code: 'http_429' });
    expect(JSON.parse(JSON.stringify(err))).toMatchObject({ name: 'RateLimitError', retryAfterMs: 1500, status: 429 });
  });
});

describe('errors from calls', () => {
  it('carry status, code (from the body) and requestId (from x-request-id)', async () => {
    api.route('post', '/v1/ai/async', () =>
      HttpResponse.json(
        { error: { code: 'missing_field', message: 'messages[0].content must be a string' } },
        { status: 400, headers: { 'x-request-id': 'req_abc' } },
      ),
    );
    const mr = new ModelRiver({ apiKey: API_KEY, baseUrl: BASE });
    const err = await mr.ai.async(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err).toMatchObject({ status: 400, code: 'missing_field', requestId: 'req_abc' });
    expect((err as Error).message).toContain('messages[0].content');
  });

  it('a 2xx that is not JSON is invalid_response', async () => {
    api.route('post', '/v1/ai/async', () => new HttpResponse('<html>proxy</html>', { status: 200 }));
    const mr = new ModelRiver({ apiKey: API_KEY, baseUrl: BASE });
    await expect(mr.ai.async(body)).rejects.toMatchObject({ code: 'invalid_response', status: 200 });
  });
});

describe('the API key never leaks', () => {
  it('is sent as a bearer token', async () => {
    api.route('post', '/v1/ai/async', () => HttpResponse.json({}, { status: 202 }));
    await new ModelRiver({ apiKey: API_KEY, baseUrl: BASE }).ai.async(body);
    expect(api.recorded[0]!.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('not when the gateway echoes it in an error body', async () => {
    api.route('post', '/v1/ai/async', (req) =>
      HttpResponse.json({ error: { code: 'unauthorized', message: `bad key: ${req.headers.get('authorization')}` } }, { status: 401 }),
    );
    const err = await new ModelRiver({ apiKey: API_KEY, baseUrl: BASE }).ai.async(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toContain('[redacted]');
    expect(everyRendering(err)).not.toContain(API_KEY);
  });

  it('not when a 500 echoes it as text, after retries', async () => {
    api.route('get', '/v1/requests/c1', (req) => new HttpResponse(`crash; headers=${req.headers.get('authorization')}`, { status: 500 }));
    const err = await new ModelRiver({ apiKey: API_KEY, baseUrl: BASE, ...noWait }).requests.get('c1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect(everyRendering(err)).not.toContain(API_KEY);
  });

  it('not when the fetch implementation quotes it in a network error and its cause', async () => {
    const leaky: typeof fetch = async (_url, init) => {
      const auth = new Headers(init?.headers).get('authorization');
      const root = Object.assign(new Error(`socket hang up while sending ${auth}`), { code: 'ECONNRESET' });
      throw new TypeError(`fetch failed for ${auth}`, { cause: root });
    };
    const err = await new ModelRiver({ apiKey: API_KEY, baseUrl: BASE, fetch: leaky, ...noWait }).ai.async(body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    const text = everyRendering(err);
    expect(text).not.toContain(API_KEY);
    expect(text).toContain('ECONNRESET');
    expect(((err as Error).cause as Error).cause).toMatchObject({ code: 'ECONNRESET' });
  });

  it('not in construction errors for a key that is no header value', () => {
    const bad = `${API_KEY}\n`;
    let err: unknown;
    try {
      new ModelRiver({ apiKey: bad, baseUrl: BASE });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'invalid_api_key' });
    expect(everyRendering(err)).not.toContain(API_KEY);
  });

  it('not in the client object when it is logged', () => {
    const mr = new ModelRiver({ apiKey: API_KEY, baseUrl: BASE });
    expect(JSON.stringify(mr)).not.toContain(API_KEY);
    expect(inspect(mr, { depth: 10, showHidden: true })).not.toContain(API_KEY);
  });
});
