import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ModelRiverError } from './index.js';
import type { ModelRiverClient } from './index.js';
import { createClient, startGateway } from '../test/harness.js';

/** How an error shows in String(), err.name, util.inspect and console.log. */
function printed(error: unknown): string[] {
  const err = error as Error;
  return [String(err), err.name, inspect(err).split('\n')[0] as string];
}

describe('ModelRiverError prints as ModelRiverError', () => {
  it('a plain one', () => {
    const [text, name, inspected] = printed(new ModelRiverError('unauthorized', 'join refused'));
    expect(text).toBe('ModelRiverError: join refused');
    expect(name).toBe('ModelRiverError');
    expect(inspected).toMatch(/^ModelRiverError: join refused/);
  });

  it('an aborted stream, which stays detectable with isAbort and code cancelled', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const controller = new AbortController();
    controller.abort();
    const caught = await client.stream(gw.connectOptions(ch), { signal: controller.signal }).finalResponse().catch((e: unknown) => e);
    const [text, name, inspected] = printed(caught);
    expect(text).toBe('ModelRiverError: the stream was aborted');
    expect(name).toBe('ModelRiverError');
    expect(inspected).toMatch(/^ModelRiverError: the stream was aborted/);
    expect(caught).toMatchObject({ code: 'cancelled', isAbort: true });
    expect(ModelRiverError.is(caught, 'cancelled')).toBe(true);
    // Any other error is not an abort.
    expect(new ModelRiverError('cancelled', 'disconnect() was called').isAbort).toBe(false);
  });
});

describe("the README's for await sample", () => {
  /** The sample as the README has it (`render` and `showTool` are the app's). */
  async function readmeSample(client: ModelRiverClient, ack: Parameters<ModelRiverClient['stream']>[0], controller: AbortController, render: (t: string) => void): Promise<string> {
    const showTool = (_call: unknown): void => undefined;
    const stream = client.stream(ack, { signal: controller.signal });
    try {
      for await (const event of stream) {
        if (event.type === 'tokens') render(event.payload.delta);
        if (event.type === 'tool_call') showTool(event.payload);
      }
      const final = await stream.finalResponse(); // also `error`/`cancelled` responses: check final.status
      return final.status;
    } catch (err) {
      if (err instanceof ModelRiverError && err.isAbort) return 'stopped'; // the user pressed Stop
      throw err;
    }
  }

  it('runs as written when aborted', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const controller = new AbortController();
    const joined = ch.waitForJoin();
    const rendered: string[] = [];
    const run = readmeSample(client, gw.connectOptions(ch), controller, (t) => {
      rendered.push(t);
      controller.abort();
    });
    await joined;
    ch.tokens('first');
    await expect(run).resolves.toBe('stopped');
    expect(rendered).toEqual(['first']);
  });

  it('runs as written to the end', async () => {
    const gw = await startGateway();
    const ch = gw.createChannel();
    const client = createClient();
    const joined = ch.waitForJoin();
    const run = readmeSample(client, gw.connectOptions(ch), new AbortController(), () => undefined);
    await joined;
    ch.tokens('all');
    ch.respond({ status: 'success', content: undefined });
    await expect(run).resolves.toBe('success');
  });
});
