/**
 * Strings for a JSON Schema `pattern`, so the mock's structured output satisfies it. Covers the
 * regular-expression syntax schemas use in practice: literals and escapes, `.`, classes with
 * ranges and negation, `\d \w \s` (and their negations), groups, alternation and every quantifier.
 * Lookarounds, backreferences, word boundaries and Unicode property escapes are not covered: for
 * those `null` is returned and the caller keeps its own text (the README lists this).
 */

/** One element of a parsed pattern. */
type Node =
  | { kind: 'chars'; options: string }
  | { kind: 'group'; branches: Node[][] }
  | { kind: 'repeat'; node: Node; min: number; max: number };

class Unsupported extends Error {}

const DIGITS = '0123456789';
const WORD = `abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ${DIGITS}_`;
const SPACE = ' ';
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
/** An open-ended quantifier (`*`, `+`, `{n,}`) repeats at most this many times more than its minimum. */
const OPEN_EXTRA = 3;

function complement(set: string): string {
  return [...PRINTABLE].filter((c) => !set.includes(c)).join('');
}

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): Node[][] {
    const branches = this.alternation();
    if (this.i < this.src.length) throw new Unsupported(`unexpected ${this.src[this.i]}`);
    return branches;
  }

  private alternation(): Node[][] {
    const branches: Node[][] = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      branches.push(this.sequence());
    }
    return branches;
  }

  private sequence(): Node[] {
    const nodes: Node[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const atom = this.atom();
      if (atom !== null) nodes.push(this.quantified(atom));
    }
    return nodes;
  }

  private atom(): Node | null {
    const c = this.src[this.i++] as string;
    switch (c) {
      case '^':
      case '$':
        return null; // a generated string is the whole match, so anchors hold by construction
      case '.':
        return { kind: 'chars', options: WORD };
      case '[':
        return { kind: 'chars', options: this.charClass() };
      case '(': {
        if (this.src[this.i] === '?') {
          if (this.src[this.i + 1] !== ':') throw new Unsupported('lookaround or named group');
          this.i += 2;
        }
        const branches = this.alternation();
        if (this.src[this.i] !== ')') throw new Unsupported('unclosed group');
        this.i++;
        return { kind: 'group', branches };
      }
      case '\\':
        return { kind: 'chars', options: this.escape(false) };
      case '*':
      case '+':
      case '?':
      case '{':
        throw new Unsupported('quantifier without an atom');
      default:
        return { kind: 'chars', options: c };
    }
  }

  private escape(inClass: boolean): string {
    const c = this.src[this.i++];
    if (c === undefined) throw new Unsupported('trailing backslash');
    switch (c) {
      case 'd':
        return DIGITS;
      case 'D':
        return complement(DIGITS);
      case 'w':
        return WORD;
      case 'W':
        return complement(WORD);
      case 's':
        return SPACE;
      case 'S':
        return complement(' \t\n\r\f\v');
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 'u': {
        const hex = /^[0-9a-fA-F]{4}/.exec(this.src.slice(this.i));
        if (!hex) throw new Unsupported('\\u escape');
        this.i += 4;
        return String.fromCharCode(parseInt(hex[0], 16));
      }
      default:
        if (/[0-9bBpPkcx]/.test(c) && !(inClass && c === 'b')) throw new Unsupported(`\\${c}`);
        return c;
    }
  }

  private charClass(): string {
    let negated = false;
    if (this.src[this.i] === '^') {
      negated = true;
      this.i++;
    }
    let set = '';
    let first = true;
    while (this.i < this.src.length && (this.src[this.i] !== ']' || first)) {
      first = false;
      const start = this.classChar();
      if (start.length === 1 && this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length) {
        this.i++;
        const end = this.classChar();
        if (end.length !== 1 || end < start) throw new Unsupported('class range');
        for (let code = start.charCodeAt(0); code <= end.charCodeAt(0) && code - start.charCodeAt(0) < 512; code++) {
          set += String.fromCharCode(code);
        }
      } else {
        set += start;
      }
    }
    if (this.src[this.i] !== ']') throw new Unsupported('unclosed class');
    this.i++;
    const options = negated ? complement(set) : set;
    if (options.length === 0) throw new Unsupported('empty class');
    return options;
  }

  private classChar(): string {
    const c = this.src[this.i++] as string;
    return c === '\\' ? this.escape(true) : c;
  }

  private quantified(node: Node): Node {
    const rest = this.src.slice(this.i);
    let min: number;
    let max: number;
    let match: RegExpExecArray | null;
    if (rest.startsWith('*')) [min, max, this.i] = [0, OPEN_EXTRA, this.i + 1];
    else if (rest.startsWith('+')) [min, max, this.i] = [1, 1 + OPEN_EXTRA, this.i + 1];
    else if (rest.startsWith('?')) [min, max, this.i] = [0, 1, this.i + 1];
    else if ((match = /^\{(\d+)(,(\d*))?\}/.exec(rest)) !== null) {
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === '' ? min + OPEN_EXTRA : Number(match[3]);
      if (max < min || max > 10_000) throw new Unsupported('quantifier bounds');
      this.i += match[0].length;
    } else return node;
    if (this.src[this.i] === '?') this.i++; // lazy: same language
    return { kind: 'repeat', node, min, max };
  }
}

function generate(nodes: Node[], random: () => number): string {
  let out = '';
  for (const node of nodes) out += generateNode(node, random);
  return out;
}

function generateNode(node: Node, random: () => number): string {
  switch (node.kind) {
    case 'chars':
      return node.options[Math.floor(random() * node.options.length)] as string;
    case 'group':
      return generate(node.branches[Math.floor(random() * node.branches.length)] as Node[], random);
    case 'repeat': {
      const count = node.min + Math.floor(random() * (node.max - node.min + 1));
      let out = '';
      for (let i = 0; i < count; i++) out += generateNode(node.node, random);
      return out;
    }
  }
}

/**
 * A string matching `pattern` (as ajv reads it: a `u`-flag RegExp), or null when the pattern uses
 * syntax this generator does not cover or is not a valid regular expression.
 *
 * @example
 * ```ts
 * stringForPattern('^[A-Z]{3}-\\d{4}$', Math.random); // e.g. 'QXF-0417'
 * ```
 */
export function stringForPattern(pattern: string, random: () => number): string | null {
  let regex: RegExp;
  let branches: Node[][];
  try {
    regex = new RegExp(pattern, 'u');
    branches = new Parser(pattern).parse();
  } catch {
    return null;
  }
  const text = generate([{ kind: 'group', branches }], random);
  // The generator is a best effort over a subset; the real engine has the last word.
  return regex.test(text) ? text : null;
}
