import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_HEARTBEAT_INTERVAL,
  DEFAULT_REQUEST_TIMEOUT,
  ModelRiverError,
  buildWebSocketUrl,
  decodeToken,
  isStorageAvailable,
  isTokenExpired,
} from './index.js';
import { createClient, startGateway, waitForEnd } from '../test/harness.js';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (claims: unknown): string => `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url(claims)}.signature`;

describe("the hosted SDK's token helpers", () => {
  it('decodeToken reads the claims of a JWT, building the topic when absent', () => {
    expect(decodeToken(jwt({ project_id: 'p', channel_id: 'c', exp: 2_000, extra: 1 }))).toEqual({
      project_id: 'p',
      channel_id: 'c',
      topic: 'ai_response:p:c',
      exp: 2_000,
    });
    expect(decodeToken(jwt({ project_id: 'p', channel_id: 'ç', topic: 'ai_response:p:ç' })).topic).toBe('ai_response:p:ç');
  });

  it.each([
    ['an empty value', ''],
    ['an opaque token (what the reference gateway issues)', 'q1w2e3r4t5y6u7i8o9p0'],
    ['a JWT whose payload is not JSON', 'a.!!!.c'],
    ['a JWT without project_id and channel_id', jwt({ sub: 'x' })],
  ])('decodeToken throws invalid_token for %s', (_what, token) => {
    let caught: unknown;
    try {
      decodeToken(token);
    } catch (error) {
      caught = error;
    }
    expect(ModelRiverError.is(caught, 'invalid_token')).toBe(true);
    expect((caught as Error).message).toMatch(/^Invalid token: /);
  });

  it('isTokenExpired compares exp (seconds) with now (ms), from the claims or the token', () => {
    const claims = { project_id: 'p', channel_id: 'c', topic: 't', exp: 100 };
    expect(isTokenExpired(claims, 99_999)).toBe(false);
    expect(isTokenExpired(claims, 100_000)).toBe(true);
    expect(isTokenExpired(jwt(claims), 100_000)).toBe(true);
    expect(isTokenExpired({ project_id: 'p', channel_id: 'c', topic: 't' }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('isTokenExpired is false for an opaque token: only the server can tell', () => {
    expect(isTokenExpired('q1w2e3r4t5y6u7i8o9p0', Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('buildWebSocketUrl is the URL the client connects to', () => {
    expect(buildWebSocketUrl('wss://api.modelriver.com/socket', 'a&b')).toBe('wss://api.modelriver.com/socket/websocket?token=a%26b&vsn=2.0.0');
    expect(buildWebSocketUrl('ws://h/socket/websocket', 't')).toBe('ws://h/socket/websocket?token=t&vsn=2.0.0');
  });

  it('the defaults are in ms', () => {
    expect(DEFAULT_HEARTBEAT_INTERVAL).toBe(30_000);
    expect(DEFAULT_REQUEST_TIMEOUT).toBe(300_000);
  });
});

describe('isStorageAvailable', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('is false without localStorage (Node) and never throws', () => {
    vi.stubGlobal('localStorage', undefined);
    expect(isStorageAvailable()).toBe(false);
  });

  it('is true for a working localStorage, false for one that throws', () => {
    const items = new Map<string, string>();
    vi.stubGlobal('localStorage', { getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k) });
    expect(isStorageAvailable()).toBe(true);
    expect(items.size).toBe(0);
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => { throw new Error('QuotaExceededError'); }, removeItem: () => undefined });
    expect(isStorageAvailable()).toBe(false);
  });
});

describe('getState().isCompleted', () => {
  it('is true after a terminal success only', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    expect(client.getState().isCompleted).toBe(false);
    const joined = ch.waitForJoin();
    client.connect(gw.connectOptions(ch));
    await joined;
    ch.tokens('x');
    expect(client.getState().isCompleted).toBe(false);
    ch.respond({ status: 'success', content: undefined });
    expect(await waitForEnd(client)).toMatchObject({ status: 'success', isCompleted: true });
    client.reset();
    expect(client.getState().isCompleted).toBe(false);
  });
});
