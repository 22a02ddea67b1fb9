/**
 * Type tests against the published declarations (`dist/*.d.ts`, built by `npm test`'s setup): the
 * errors entry declares the main entry's types, not copies, and nothing internal.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type * as ErrorsEntry from '../dist/errors.js';
import type * as MainEntry from '../dist/index.js';

describe('published @modelriver/client/errors types', () => {
  it("are the main entry's", () => {
    expectTypeOf<ErrorsEntry.ModelRiverError>().toEqualTypeOf<MainEntry.ModelRiverError>();
    expectTypeOf<typeof ErrorsEntry.ModelRiverError>().toEqualTypeOf<typeof MainEntry.ModelRiverError>();
    expectTypeOf<ErrorsEntry.ErrorCode>().toEqualTypeOf<MainEntry.ErrorCode>();
    expectTypeOf<ErrorsEntry.ModelRiverErrorOptions>().toEqualTypeOf<MainEntry.ModelRiverErrorOptions>();
  });

  it('export only the error family (no internal helper)', () => {
    expectTypeOf<keyof typeof ErrorsEntry>().toEqualTypeOf<'ModelRiverError' | 'ErrorCode' | 'TERMINAL_ERROR_CODES'>();
  });
});
