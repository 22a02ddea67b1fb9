/**
 * Type tests against the published declarations (`dist/index.d.ts`, built by `npm test`'s setup),
 * not the sources: what users' editors see.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { ModelRiverClient, StreamState } from '../dist/index.js';

describe('published ModelRiverClient type', () => {
  it('is nominal: an object with the same public methods is not a ModelRiverClient', () => {
    type PublicShape = { [K in keyof ModelRiverClient]: ModelRiverClient[K] };
    expectTypeOf<PublicShape>().not.toMatchTypeOf<ModelRiverClient>();
    expectTypeOf<ReturnType<ModelRiverClient['getState']>>().toEqualTypeOf<StreamState>();
  });
});
