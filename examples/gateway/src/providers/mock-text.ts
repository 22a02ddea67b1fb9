/**
 * The mock provider's deterministic content: readable sentence-like text and schema-shaped JSON,
 * both a pure function of the prompt, and the way that content is cut into tokens. Failover tests
 * rely on this: a run interrupted at any token and continued from its prefix yields exactly the
 * text of an undisturbed run.
 */
import { stringForPattern } from './mock-pattern.js';

/**
 * FNV-1a, 32 bits: a stable seed from a string.
 *
 * @example
 * ```ts
 * hashString('hello') === hashString('hello'); // true
 * ```
 */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * A small seeded PRNG (mulberry32) returning floats in [0, 1).
 *
 * @example
 * ```ts
 * const random = seededRandom(hashString('prompt'));
 * random(); // the same sequence for the same seed
 * ```
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Cuts text into model-like tokens: each word keeps its leading whitespace, and long words are split
 * into pieces of at most `maxPiece` characters. Joining the tokens gives the text back exactly.
 *
 * @example
 * ```ts
 * splitTokens('Hello streaming world'); // ['Hello', ' stream', 'ing', ' world']
 * ```
 */
export function splitTokens(text: string, maxPiece = 7): string[] {
  const tokens: string[] = [];
  for (const match of text.matchAll(/\s*\S+|\s+$/g)) {
    const word = match[0];
    const lead = word.length - word.trimStart().length;
    const body = word.slice(lead);
    if (body.length <= maxPiece) {
      tokens.push(word);
      continue;
    }
    const pieces = Math.ceil(body.length / maxPiece);
    const size = Math.ceil(body.length / pieces);
    for (let i = 0; i < body.length; i += size) {
      tokens.push((i === 0 ? word.slice(0, lead) : '') + body.slice(i, i + size));
    }
  }
  return tokens;
}

const SUBJECTS = [
  'the gateway', 'every client', 'a stream of tokens', 'the browser', 'each channel', 'the backend',
  'a careful design', 'the mock model', 'a reconnecting socket', 'the event log', 'good tooling',
  'a structured answer', 'the request log', 'a webhook receiver', 'the provider', 'this example',
];
const VERBS = [
  'keeps', 'delivers', 'explains', 'replays', 'compares', 'measures', 'protects', 'summarises',
  'streams', 'remembers', 'verifies', 'improves', 'simplifies', 'orders', 'records', 'suggests',
];
const OBJECTS = [
  'every event in order', 'the text exactly once', 'latency and usage', 'the final response',
  'a clear error with a stable code', 'the sequence numbers', 'each tool call', 'the whole answer',
  'a signed delivery', 'the missing tokens', 'predictable behaviour', 'the status of the request',
  'the context of the question', 'reliable results', 'its own work', 'the next step',
];
const TAILS = [
  'without losing anything', 'even when the network drops', 'for the people who depend on it',
  'with very little code', 'in a few milliseconds', 'before the user notices', 'so tests stay simple',
  'while the model is still thinking', 'after a short pause', 'across every tab', 'with patience',
  'as the contract describes', 'and nothing repeats', 'one token at a time',
];
const CONNECTORS = ['and', 'while', 'so', 'because', 'but'];
const WORDS = [...SUBJECTS, ...VERBS, ...OBJECTS].join(' ').split(' ');

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function clause(random: () => number): string {
  const parts = [pick(random, SUBJECTS), pick(random, VERBS), pick(random, OBJECTS)];
  if (random() < 0.6) parts.push(pick(random, TAILS));
  return parts.join(' ');
}

/** A readable sentence of one or two clauses, capitalized and ending with a period. */
function sentence(random: () => number): string {
  let text = clause(random);
  if (random() < 0.45) text += `${random() < 0.5 ? ',' : ''} ${pick(random, CONNECTORS)} ${clause(random)}`;
  return `${capitalize(text)}.`;
}

/** A few words, for short string fields. */
function phrase(random: () => number, min: number, max: number): string {
  const length = min + Math.floor(random() * (max - min + 1));
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(pick(random, WORDS));
  return capitalize(words.join(' '));
}

/**
 * The mock's plain-text answer for a prompt: whole sentences, at least `minTokens` tokens once cut by
 * {@link splitTokens}.
 *
 * @example
 * ```ts
 * mockAnswerText('Hello', 48) === mockAnswerText('Hello', 48); // true
 * ```
 */
export function mockAnswerText(prompt: string, minTokens: number): string {
  const random = seededRandom(hashString(`text:${prompt}`));
  let text = '';
  let count = 0;
  while (count < minTokens) {
    const next = sentence(random);
    text += text ? ` ${next}` : next;
    count = splitTokens(text).length;
  }
  return text;
}

type Schema = Record<string, unknown>;

const POSITIVE = /\b(love|great|thanks?|thank you|happy|awesome|excellent|good|nice|glad|wonderful)\b/i;
const NEGATIVE = /\b(hate|bad|broken|angry|terrible|awful|annoyed|worst|refund|fail(ed|ing)?|problem)\b/i;

function promptWords(prompt: string): string[] {
  const seen = new Set<string>();
  for (const word of prompt.toLowerCase().match(/[a-z][a-z-]{3,}/g) ?? []) seen.add(word);
  return [...seen];
}

function stringFor(schema: Schema, key: string, random: () => number): string {
  if (typeof schema['pattern'] === 'string') {
    const matching = stringForPattern(schema['pattern'], random);
    if (matching !== null) return matching;
  }
  switch (schema['format']) {
    case 'date-time':
      return new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365 * 86_400_000)).toISOString();
    case 'date':
      return new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 365) * 86_400_000).toISOString().slice(0, 10);
    case 'email':
      return `${pick(random, WORDS)}${Math.floor(random() * 100)}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${pick(random, WORDS)}`;
    default:
      break;
  }
  const name = key.toLowerCase();
  let text: string;
  if (/reply|answer|response|text|content|message/.test(name)) text = `${sentence(random)} ${sentence(random)}`;
  else if (/summary|description|explanation|reason/.test(name)) text = sentence(random);
  else if (/task|action|step|title/.test(name)) text = capitalize(clause(random));
  else text = phrase(random, 2, 4);
  const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
  const max = typeof schema['maxLength'] === 'number' ? schema['maxLength'] : Infinity;
  while (text.length < min) text += ` ${pick(random, WORDS)}`;
  return text.length > max ? text.slice(0, max) : text;
}

function numberFor(schema: Schema, key: string, random: () => number, integer: boolean): number {
  const hasMin = typeof schema['minimum'] === 'number';
  const hasMax = typeof schema['maximum'] === 'number';
  let min = hasMin ? (schema['minimum'] as number) : integer ? 1 : 0;
  let max = hasMax ? (schema['maximum'] as number) : integer ? 10 : 100;
  if (!integer && !hasMin && !hasMax && /confidence|score|probability/.test(key.toLowerCase())) {
    min = 0.5;
    max = 0.99;
  }
  if (integer) return Math.ceil(min) + Math.floor(random() * (Math.floor(max) - Math.ceil(min) + 1));
  const value = Math.round((min + random() * (max - min)) * 100) / 100;
  return Math.min(max, Math.max(min, value));
}

function valueFor(schema: Schema, key: string, random: () => number, prompt: string, depth: number): unknown {
  if (depth > 8) return null;
  if ('const' in schema) return schema['const'];
  const variants = (schema['anyOf'] ?? schema['oneOf'] ?? schema['allOf']) as Schema[] | undefined;
  if (Array.isArray(variants) && variants.length > 0 && !schema['type']) {
    return valueFor(variants[0] as Schema, key, random, prompt, depth + 1);
  }
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) {
    const options = schema['enum'] as unknown[];
    // Sentiment-like enums follow the prompt's tone, so the demo's answers look sensible.
    if (options.includes('positive') && POSITIVE.test(prompt) && !NEGATIVE.test(prompt)) return 'positive';
    if (options.includes('negative') && NEGATIVE.test(prompt) && !POSITIVE.test(prompt)) return 'negative';
    return pick(random, options);
  }
  const declared = schema['type'];
  const type = Array.isArray(declared) ? (declared.find((t) => t !== 'null') ?? 'null') : declared;
  switch (type ?? (schema['properties'] ? 'object' : schema['items'] ? 'array' : 'string')) {
    case 'object': {
      const result: Record<string, unknown> = {};
      const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
      for (const [name, sub] of Object.entries(properties)) {
        result[name] = valueFor(sub, name, random, prompt, depth + 1);
      }
      return result;
    }
    case 'array': {
      const items = (schema['items'] ?? {}) as Schema;
      const minItems = typeof schema['minItems'] === 'number' ? schema['minItems'] : 1;
      const maxItems = typeof schema['maxItems'] === 'number' ? schema['maxItems'] : Math.max(minItems, 3);
      const count = minItems + Math.floor(random() * (Math.max(minItems, Math.min(maxItems, 3)) - minItems + 1));
      const fromPrompt =
        /topic|tag|keyword/.test(key.toLowerCase()) && items['type'] === 'string' && !items['enum'] ? promptWords(prompt) : [];
      const values: unknown[] = [];
      for (let i = 0; i < count; i++) {
        values.push(fromPrompt[i] ?? valueFor(items, key, random, prompt, depth + 1));
      }
      return values;
    }
    case 'string':
      return stringFor(schema, key, random);
    case 'number':
      return numberFor(schema, key, random, false);
    case 'integer':
      return numberFor(schema, key, random, true);
    case 'boolean':
      return random() < 0.5;
    default:
      return null;
  }
}

/**
 * A value satisfying common JSON Schema constructs (object, array, string with enum/format/length/pattern,
 * number/integer bounds, boolean, const, anyOf), derived from the prompt.
 *
 * @example
 * ```ts
 * mockStructuredValue({ type: 'object', properties: { ok: { type: 'boolean' } } }, 'hi'); // { ok: … }
 * ```
 */
export function mockStructuredValue(schema: Record<string, unknown>, prompt: string): unknown {
  return valueFor(schema, '', seededRandom(hashString(`json:${prompt}`)), prompt, 0);
}

/**
 * The city a weather tool call asks about: a capitalized word of the prompt, else a default.
 *
 * @example
 * ```ts
 * mockCity('What is the weather in Lisbon?'); // 'Lisbon'
 * ```
 */
export function mockCity(prompt: string): string {
  const match = /\b(?:in|at|for)\s+([A-Z][\p{L}-]+(?:\s[A-Z][\p{L}-]+)?)/u.exec(prompt);
  return match?.[1] ?? 'Paris';
}
