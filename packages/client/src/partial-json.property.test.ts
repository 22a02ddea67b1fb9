import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createPartialJson } from './partial-json.js';

/**
 * One seed per run, printed by fast-check with any failure. Reproduce with
 * `FC_SEED=<seed> npx vitest run packages/client/src/partial-json.property.test.ts`.
 */
const seed = process.env.FC_SEED === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FC_SEED);

/**
 * Whether `partial`, the parser's value for a prefix of a text, can grow into `final`,
 * the text's value: containers hold a consistent subset, a string is a prefix, any other
 * scalar is already exact.
 */
function consistent(partial: unknown, final: unknown): boolean {
  if (partial === undefined) return true;
  if (Array.isArray(final)) {
    return Array.isArray(partial) && partial.length <= final.length && partial.every((v, i) => consistent(v, final[i]));
  }
  if (typeof final === 'object' && final !== null) {
    if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) return false;
    return Object.keys(partial).every(
      (k) => Object.prototype.hasOwnProperty.call(final, k) && consistent((partial as Record<string, unknown>)[k], (final as Record<string, unknown>)[k]),
    );
  }
  if (typeof final === 'string') return typeof partial === 'string' && final.startsWith(partial);
  return Object.is(partial, final);
}

/** `text` cut at random places (sorted cut points). */
const chunked = (text: string) =>
  fc
    .uniqueArray(fc.integer({ min: 1, max: Math.max(1, text.length - 1) }), { maxLength: Math.min(text.length, 40) })
    .map((cuts) => {
      const points = [0, ...cuts.filter((c) => c < text.length).sort((a, b) => a - b), text.length];
      return points.slice(1).map((end, i) => text.slice(points[i], end));
    });

/** Valid JSON text: any JSON value, with unicode and lone surrogates, compact or indented. */
const jsonText = fc
  .tuple(
    fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3, stringUnit: 'binary' })),
    fc.constantFrom(undefined, 2, '\t'),
  )
  .map(([value, indent]) => JSON.stringify(value, null, indent));

describe('createPartialJson, property-tested against JSON.parse', () => {
  it('every prefix, however chunked, yields a value consistent with the final one, and the whole text its exact value', () => {
    fc.assert(
      fc.property(jsonText.chain((text) => fc.tuple(fc.constant(text), chunked(text))), ([text, chunks]) => {
        const final: unknown = JSON.parse(text);
        const json = createPartialJson();
        const seen: Array<[unknown, string]> = [];
        for (const chunk of chunks) {
          json.feed(chunk);
          const value = json.value();
          expect(json.failed).toBe(false);
          expect(consistent(value, final), `${JSON.stringify(value)} vs ${text}`).toBe(true);
          seen.push([value, JSON.stringify(value) ?? 'undefined']);
        }
        // A number is taken once something follows it: whitespace keeps the text valid JSON.
        if (typeof final === 'number') json.feed(' ');
        expect(json.done).toBe(true);
        expect(json.value()).toEqual(final);
        expect(json.length).toBe(text.length + (typeof final === 'number' ? 1 : 0));
        // Values handed out earlier were never changed afterwards.
        for (const [value, serialized] of seen) expect(JSON.stringify(value) ?? 'undefined').toBe(serialized);
      }),
      { numRuns: 400, seed },
    );
  });

  it('every prefix of every valid text, character by character, stays consistent', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const final: unknown = JSON.parse(text);
        const json = createPartialJson();
        for (const ch of text) {
          json.feed(ch);
          if (!consistent(json.value(), final)) return false;
        }
        return !json.failed;
      }),
      { numRuns: 300, seed },
    );
  });

  it('malformed input never throws; when it says done, JSON.parse agrees', () => {
    const corrupted = jsonText.chain((text) =>
      fc.tuple(fc.nat({ max: Math.max(0, text.length - 1) }), fc.constantFrom('', ',', '}', ']', '"', '\\', 'x', '\u0001', '{', '1')).map(
        ([at, ch]) => text.slice(0, at) + ch + text.slice(at + 1),
      ),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), corrupted).chain((text) => fc.tuple(fc.constant(text), chunked(text))), ([text, chunks]) => {
        const json = createPartialJson();
        for (const chunk of chunks) {
          json.feed(chunk);
          json.value();
        }
        let parsed: { ok: true; value: unknown } | { ok: false };
        try {
          parsed = { ok: true, value: JSON.parse(text) as unknown };
        } catch {
          parsed = { ok: false };
        }
        if (json.done) {
          expect(parsed.ok).toBe(true);
          if (parsed.ok) expect(json.value()).toEqual(parsed.value);
        }
        if (parsed.ok) {
          expect(json.failed).toBe(false);
          expect(consistent(json.value(), parsed.value)).toBe(true);
        }
      }),
      { numRuns: 500, seed },
    );
  });
});
