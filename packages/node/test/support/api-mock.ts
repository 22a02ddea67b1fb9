/**
 * An msw server standing in for the gateway's HTTP API: a route answers its attempts in
 * turn from a script (the last answer repeats), and every request is recorded.
 */
import { http, type HttpResponseResolver } from 'msw';
import { setupServer } from 'msw/node';

export const BASE = 'http://gateway.test';
export const API_KEY = 'mr_test_SECRETKEY_0123456789abcdef';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Answers one attempt; gets the request and the attempt number (0-based). */
export type Answer = (request: Request, attempt: number) => Response | Promise<Response>;

/** Starts msw for the current test file. */
export function mockApi() {
  const server = setupServer();
  const recorded: RecordedRequest[] = [];
  return {
    recorded,
    listen: () => server.listen({ onUnhandledRequest: 'error' }),
    reset: () => {
      server.resetHandlers();
      recorded.length = 0;
    },
    close: () => server.close(),
    /** Scripts `method path`: the n-th attempt gets `answers[n]`, later ones the last answer. */
    route(method: 'get' | 'post', path: string, ...answers: Answer[]) {
      let attempt = 0;
      const resolver: HttpResponseResolver = async ({ request }) => {
        recorded.push({
          method: request.method,
          url: request.url,
          headers: Object.fromEntries(request.headers.entries()),
          body: await request.clone().text(),
        });
        const n = attempt++;
        return answers[Math.min(n, answers.length - 1)]!(request, n);
      };
      server.use(http[method](`${BASE}${path}`, resolver));
    },
  };
}
