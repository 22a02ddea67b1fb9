// A deliberate cycle (a.ts ↔ b.ts) for no-cycles.test.ts to find; never imported by the client.
import { b } from './b.js';

export const a = (): string => `a${b()}`;
