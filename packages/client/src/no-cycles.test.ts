import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * No two modules import each other, directly or around a circle (type-only imports count too):
 * a cycle is the sign that an owner is missing (see the design guide). madge reads the sources
 * the way the bundlers do; it is a dev dependency of the workspace root.
 */
interface MadgeResult {
  circular(): string[][];
  obj(): Record<string, string[]>;
}
type Madge = (path: string, config: { fileExtensions: string[]; excludeRegExp?: RegExp[] }) => Promise<MadgeResult>;
const madge = createRequire(import.meta.url)('madge') as Madge;

const packageSrc = (name: string): string => fileURLToPath(new URL(`../../${name}/src`, import.meta.url));

/**
 * The graph of the modules `dir` ships: tests and what they reach outside `dir` (harnesses,
 * test-utils) left out, and so is the deliberate cycle this test checks itself against.
 */
const graphOf = (dir: string): Promise<MadgeResult> =>
  madge(dir, { fileExtensions: ['ts', 'tsx'], excludeRegExp: [/\.test(-d)?\.tsx?$/, /^\.\.\//, /no-cycles\.fixture/] });

describe('module graph', () => {
  for (const name of ['client', 'react', 'node']) {
    it(`packages/${name}/src has no import cycle`, async () => {
      const result = await graphOf(packageSrc(name));
      // The graph was read at all (a wrong path would give no modules and no cycles).
      expect(Object.keys(result.obj()).length).toBeGreaterThan(5);
      expect(result.circular()).toEqual([]);
    });
  }

  it('examples/gateway/src has no import cycle', async () => {
    const result = await graphOf(fileURLToPath(new URL('../../../examples/gateway/src', import.meta.url)));
    expect(Object.keys(result.obj()).length).toBeGreaterThan(50);
    expect(result.circular()).toEqual([]);
  });

  it('nothing in the client imports client.ts but index.ts', async () => {
    const graph = (await graphOf(packageSrc('client'))).obj();
    const importers = Object.entries(graph)
      .filter(([, deps]) => deps.includes('client.ts'))
      .map(([file]) => file);
    expect(importers).toEqual(['index.ts']);
  });

  it('finds a cycle when there is one', async () => {
    const result = await madge(fileURLToPath(new URL('./no-cycles.fixture', import.meta.url)), { fileExtensions: ['ts'] });
    expect(result.circular()).toEqual([['a.ts', 'b.ts']]);
  });
});
