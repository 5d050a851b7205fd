/**
 * Safety check of the regular expressions of the `matches` operator.
 *
 * Flag configurations come from people and from imports, and patterns run on
 * every evaluation, in the server too: one pattern that backtracks
 * catastrophically (`^(a+)+$` on `"aaaaaaaaaaaaaaaaaaaaaaaaaaaa!"`) stalls an
 * evaluator for seconds or years. JavaScript regexes cannot be interrupted,
 * so dangerous patterns are refused before they are ever run: when a flag is
 * saved and again when a snapshot is compiled. Both call this one function,
 * so they never disagree.
 *
 * A pattern is refused when it:
 * - is longer than 1,000 characters;
 * - is not a valid JavaScript regex in Unicode mode (`new RegExp(p, 'u')`);
 * - uses a backreference (`\1`, `\k<name>`), which makes matching NP-hard;
 * - repeats a group many times (`*`, `+`, `{n,}`, or `{n,m}` with m > 10;
 *   `?`, `{n}` and `{n,m}` with m <= 10 repeat it at most a few times) when
 *   inside the group:
 *   - there is another unbounded quantifier: `(a+)+`, `(\w*)*`, `(a|b+)*`,
 *     `((ab)*c)*`;
 *   - an alternation has two branches that can start with the same
 *     character: `(a|a)*`, `(a|ab)*`, `(\d|\w)+`, `(.|x)*`;
 *   - a part that matches a variable amount of text (`?`, `{n,m}`, an
 *     alternation with an empty branch) can start like what follows it,
 *     the next iteration included: `(aa?)+`, `(a{1,2})+`, `(a?a?)+`. This
 *     one is not in the evaluation contract's examples but backtracks just
 *     as badly; `(https?://)+` and `([a-z]{1,63}\.)+` pass it.
 *
 * The check is conservative, not exact: it may refuse a pattern that is in
 * fact safe (`(?:[a-z]+\.)+` is refused though the `.` makes it linear;
 * `(ab|ac)+` is refused though the second character decides), and it compares
 * characters case-insensitively because conditions may set
 * `caseInsensitive`. It does not look for blow-ups outside repeated groups:
 * the polynomial ones of adjacent overlapping quantifiers (`\d+\d+`,
 * `.*.*=.*`), or a long run of optional parts (`a?a?a?...aaa`), which with
 * patterns of at most 1,000 characters only a deliberately hostile author
 * would write.
 *
 * This runs at validation time, not on the evaluation path, so clarity wins
 * over allocation here; the pattern is parsed once into a small tree.
 */

/** The longest pattern accepted, in UTF-16 code units. */
export const MAX_PATTERN_LENGTH = 1000;

/** Quantifiers `{n,m}` with m above this repeat too often to be ignored. */
const SMALL_REPEAT = 10;

/** The verdict on one pattern. `reason` is a sentence meant for the person who wrote the pattern. */
export type RegexPatternCheck = { ok: true } | { ok: false; reason: string };

const OK: RegexPatternCheck = Object.freeze({ ok: true as const });

// ---------------------------------------------------------------------------
// Character sets: flat lists of inclusive code point ranges [lo0, hi0, lo1, hi1, ...].

type CharSet = number[];

const MAX_CP = 0x10ffff;
const ANY: CharSet = [0, MAX_CP];
const DIGIT: CharSet = [0x30, 0x39];
// With the `u` and `i` flags, \w also matches U+017F (long s) and U+212A (Kelvin sign).
const WORD: CharSet = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a, 0x17f, 0x17f, 0x212a, 0x212a];
const SPACE: CharSet = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000,
  0x3000, 0xfeff, 0xfeff,
];

/** Sorted, merged copy of `set`. */
function normalize(set: CharSet): CharSet {
  const pairs: [number, number][] = [];
  for (let i = 0; i < set.length; i += 2) pairs.push([set[i] as number, set[i + 1] as number]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: CharSet = [];
  for (const [lo, hi] of pairs) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] as number) + 1) {
      if (hi > (out[last] as number)) out[last] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function complement(set: CharSet): CharSet {
  const sorted = normalize(set);
  const out: CharSet = [];
  let next = 0;
  for (let i = 0; i < sorted.length; i += 2) {
    const lo = sorted[i] as number;
    if (lo > next) out.push(next, lo - 1);
    next = (sorted[i + 1] as number) + 1;
  }
  if (next <= MAX_CP) out.push(next, MAX_CP);
  return out;
}

function intersects(a: CharSet, b: CharSet): boolean {
  for (let i = 0; i < a.length; i += 2) {
    for (let j = 0; j < b.length; j += 2) {
      if ((a[i] as number) <= (b[j + 1] as number) && (b[j] as number) <= (a[i + 1] as number)) return true;
    }
  }
  return false;
}

function addCaseVariants(out: CharSet, cp: number): void {
  const ch = String.fromCodePoint(cp);
  for (const variant of [ch.toLowerCase(), ch.toUpperCase()]) {
    const v = variant.codePointAt(0) as number;
    // Only single code point mappings fold in regex matching.
    if (variant.length === String.fromCodePoint(v).length && v !== cp) out.push(v, v);
  }
}

/**
 * `set` with the case variants of its characters added: ASCII letters, the
 * two non-ASCII characters that fold to ASCII letters (U+017F, U+212A), and
 * the simple case mappings of other characters in ranges of modest width.
 * An approximation of case-insensitive matching that errs towards overlap.
 */
function caseFold(set: CharSet): CharSet {
  const out = set.slice();
  for (let i = 0; i < set.length; i += 2) {
    const lo = set[i] as number;
    const hi = set[i + 1] as number;
    // A-Z <-> a-z
    const ulo = Math.max(lo, 0x41);
    const uhi = Math.min(hi, 0x5a);
    if (ulo <= uhi) out.push(ulo + 32, uhi + 32);
    const llo = Math.max(lo, 0x61);
    const lhi = Math.min(hi, 0x7a);
    if (llo <= lhi) out.push(llo - 32, lhi - 32);
    if ((lo <= 0x4b && hi >= 0x4b) || (lo <= 0x6b && hi >= 0x6b)) out.push(0x212a, 0x212a); // K, k -> Kelvin
    if ((lo <= 0x53 && hi >= 0x53) || (lo <= 0x73 && hi >= 0x73)) out.push(0x17f, 0x17f); // S, s -> long s
    const nlo = Math.max(lo, 0x80);
    if (nlo <= hi && hi - nlo < 1024) {
      for (let cp = nlo; cp <= hi; cp++) addCaseVariants(out, cp);
    }
  }
  return normalize(out);
}

// ---------------------------------------------------------------------------
// The pattern as a tree.

/** One character matched by a literal, an escape, a class or `.`. */
interface CharNode {
  kind: 'char';
  set: CharSet;
}

/** A zero-width assertion: `^`, `$`, `\b`, `\B`. */
interface AssertNode {
  kind: 'assert';
}

/** A group (capturing or not, or a lookaround): alternatives, each a sequence of nodes. */
interface GroupNode {
  kind: 'group';
  alternatives: Node[][];
  /** Where each alternative's text starts and ends in the pattern. */
  starts: number[];
  ends: number[];
  lookaround: boolean;
  start: number;
  end: number;
}

/** An atom with a quantifier. `max` is Infinity for unbounded ones. */
interface QuantNode {
  kind: 'quant';
  body: Node;
  min: number;
  max: number;
  start: number;
  end: number;
}

type Node = CharNode | AssertNode | GroupNode | QuantNode;

/** Thrown inside the parser to refuse a pattern with a reason. */
class Refusal {
  constructor(readonly reason: string) {}
}

const ASSERT: AssertNode = { kind: 'assert' };

/**
 * A recursive-descent parser of Unicode-mode regex syntax. It runs only on
 * patterns that `new RegExp(p, 'u')` accepted, so it relies on their being
 * well formed; anything it does not recognise refuses the pattern rather than
 * being guessed at.
 */
class Parser {
  private pos = 0;

  constructor(private readonly src: string) {}

  parse(): GroupNode {
    const root = this.parseGroupBody(0, false);
    if (this.pos !== this.src.length) throw this.unsupported();
    return root;
  }

  private unsupported(): Refusal {
    return new Refusal(`pattern uses syntax the safety check cannot analyse (at ${JSON.stringify(this.src.slice(this.pos, this.pos + 10))})`);
  }

  private peek(offset = 0): number {
    return this.src.charCodeAt(this.pos + offset);
  }

  /** Alternatives up to (not including) a `)` or the end. */
  private parseGroupBody(start: number, lookaround: boolean): GroupNode {
    const alternatives: Node[][] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    for (;;) {
      starts.push(this.pos);
      const terms: Node[] = [];
      while (this.pos < this.src.length && this.peek() !== 0x7c /* | */ && this.peek() !== 0x29 /* ) */) {
        terms.push(this.parseTerm());
      }
      alternatives.push(terms);
      ends.push(this.pos);
      if (this.peek() !== 0x7c) break;
      this.pos++;
    }
    return { kind: 'group', alternatives, starts, ends, lookaround, start, end: this.pos };
  }

  private parseTerm(): Node {
    const start = this.pos;
    const atom = this.parseAtom();
    let min: number;
    let max: number;
    const c = this.peek();
    if (c === 0x2a /* * */) {
      min = 0;
      max = Infinity;
      this.pos++;
    } else if (c === 0x2b /* + */) {
      min = 1;
      max = Infinity;
      this.pos++;
    } else if (c === 0x3f /* ? */) {
      min = 0;
      max = 1;
      this.pos++;
    } else if (c === 0x7b /* { */) {
      this.pos++;
      min = this.readDecimal();
      max = min;
      if (this.peek() === 0x2c /* , */) {
        this.pos++;
        max = this.peek() === 0x7d /* } */ ? Infinity : this.readDecimal();
      }
      if (this.peek() !== 0x7d) throw this.unsupported();
      this.pos++;
    } else {
      return atom;
    }
    if (this.peek() === 0x3f /* lazy ? */) this.pos++;
    return { kind: 'quant', body: atom, min, max, start, end: this.pos };
  }

  private readDecimal(): number {
    const start = this.pos;
    while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
    if (this.pos === start) throw this.unsupported();
    return Number(this.src.slice(start, this.pos));
  }

  private parseAtom(): Node {
    const c = this.peek();
    switch (c) {
      case 0x5e: // ^
      case 0x24: // $
        this.pos++;
        return ASSERT;
      case 0x2e: // .
        this.pos++;
        return { kind: 'char', set: ANY };
      case 0x28: // (
        return this.parseGroup();
      case 0x5b: // [
        return this.parseClass();
      case 0x5c: // \
        return this.parseEscape();
      default: {
        const cp = this.src.codePointAt(this.pos) as number;
        this.pos += cp > 0xffff ? 2 : 1;
        return { kind: 'char', set: [cp, cp] };
      }
    }
  }

  private parseGroup(): GroupNode {
    const start = this.pos;
    this.pos++; // (
    let lookaround = false;
    if (this.peek() === 0x3f /* ? */) {
      this.pos++;
      const c = this.peek();
      if (c === 0x3a /* : */) {
        this.pos++;
      } else if (c === 0x3d /* = */ || c === 0x21 /* ! */) {
        this.pos++;
        lookaround = true;
      } else if (c === 0x3c /* < */ && (this.peek(1) === 0x3d || this.peek(1) === 0x21)) {
        this.pos += 2;
        lookaround = true;
      } else if (c === 0x3c) {
        // A named capturing group: skip the name.
        const close = this.src.indexOf('>', this.pos);
        if (close < 0) throw this.unsupported();
        this.pos = close + 1;
      } else {
        // Modifiers, as in `(?i:...)` or `(?-i:...)`, where the engine supports them.
        while ((this.peek() >= 0x61 && this.peek() <= 0x7a) || this.peek() === 0x2d) this.pos++;
        if (this.peek() !== 0x3a) throw this.unsupported();
        this.pos++;
      }
    }
    const group = this.parseGroupBody(start, lookaround);
    if (this.peek() !== 0x29 /* ) */) throw this.unsupported();
    this.pos++;
    group.end = this.pos;
    return group;
  }

  /** An escape outside a class. */
  private parseEscape(): Node {
    const start = this.pos;
    this.pos++; // \
    const c = this.peek();
    if (c >= 0x31 && c <= 0x39) {
      // \1..\9 (and more digits): in Unicode mode always a backreference.
      this.pos++;
      while (this.peek() >= 0x30 && this.peek() <= 0x39) this.pos++;
      throw backreference(this.src.slice(start, this.pos));
    }
    if (c === 0x6b /* k */) {
      const close = this.src.indexOf('>', this.pos);
      throw backreference(this.src.slice(start, close < 0 ? this.pos + 1 : close + 1));
    }
    if (c === 0x62 /* b */ || c === 0x42 /* B */) {
      this.pos++;
      return ASSERT;
    }
    return { kind: 'char', set: this.parseCharacterEscape(false) };
  }

  /**
   * The escape after a `\` (already consumed) that stands for characters:
   * class escapes, control and hex escapes, identity escapes. Inside a class
   * `\b` is a backspace and `\-` a hyphen.
   */
  private parseCharacterEscape(inClass: boolean): CharSet {
    const c = this.peek();
    this.pos++;
    switch (c) {
      case 0x64: // d
        return DIGIT;
      case 0x44: // D
        return complement(DIGIT);
      case 0x77: // w
        return WORD;
      case 0x57: // W
        return complement(WORD);
      case 0x73: // s
        return SPACE;
      case 0x53: // S
        return complement(SPACE);
      case 0x70: // p
      case 0x50: {
        // P: Unicode property escapes; any character, as far as overlap goes.
        const close = this.src.indexOf('}', this.pos);
        if (this.peek() !== 0x7b || close < 0) throw this.unsupported();
        this.pos = close + 1;
        return ANY;
      }
      case 0x66: // f
        return [0x0c, 0x0c];
      case 0x6e: // n
        return [0x0a, 0x0a];
      case 0x72: // r
        return [0x0d, 0x0d];
      case 0x74: // t
        return [0x09, 0x09];
      case 0x76: // v
        return [0x0b, 0x0b];
      case 0x30: // 0
        return [0, 0];
      case 0x63: {
        // c: a control letter
        const letter = this.peek();
        this.pos++;
        return [letter % 32, letter % 32];
      }
      case 0x78: {
        // x: two hex digits
        const cp = this.readHex(2);
        return [cp, cp];
      }
      case 0x75: {
        // u: \u{...} or \uXXXX, possibly a surrogate pair of two \uXXXX.
        let cp: number;
        if (this.peek() === 0x7b) {
          this.pos++;
          const close = this.src.indexOf('}', this.pos);
          if (close < 0) throw this.unsupported();
          cp = this.readHex(close - this.pos);
          this.pos++;
        } else {
          cp = this.readHex(4);
          if (cp >= 0xd800 && cp <= 0xdbff && this.peek() === 0x5c && this.peek(1) === 0x75) {
            const save = this.pos;
            this.pos += 2;
            const low = /^[0-9a-fA-F]{4}$/.test(this.src.slice(this.pos, this.pos + 4)) ? this.readHex(4) : -1;
            if (low >= 0xdc00 && low <= 0xdfff) cp = (cp - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000;
            else this.pos = save;
          }
        }
        return [cp, cp];
      }
      case 0x62: // b, only reached inside a class
        if (inClass) return [0x08, 0x08];
        throw this.unsupported();
      default: {
        // An identity escape of a syntax character (or `-` in a class).
        if (Number.isNaN(c)) throw this.unsupported();
        this.pos--;
        const cp = this.src.codePointAt(this.pos) as number;
        this.pos += cp > 0xffff ? 2 : 1;
        return [cp, cp];
      }
    }
  }

  private readHex(digits: number): number {
    const text = this.src.slice(this.pos, this.pos + digits);
    if (!/^[0-9a-fA-F]+$/.test(text)) throw this.unsupported();
    this.pos += digits;
    return parseInt(text, 16);
  }

  /** A class `[...]` or `[^...]`. In JavaScript `[]` matches nothing and `[^]` anything. */
  private parseClass(): CharNode {
    this.pos++; // [
    let negated = false;
    if (this.peek() === 0x5e /* ^ */) {
      negated = true;
      this.pos++;
    }
    const set: CharSet = [];
    while (this.peek() !== 0x5d /* ] */) {
      if (this.pos >= this.src.length) throw this.unsupported();
      const first = this.parseClassAtom();
      // A range needs a single character on both sides and a `-` not closing the class.
      if (first.length === 2 && first[0] === first[1] && this.peek() === 0x2d /* - */ && this.peek(1) !== 0x5d) {
        const save = this.pos;
        this.pos++;
        const last = this.parseClassAtom();
        if (last.length === 2 && last[0] === last[1]) {
          set.push(first[0] as number, last[0] as number);
          continue;
        }
        this.pos = save;
      }
      set.push(...first);
    }
    this.pos++; // ]
    return { kind: 'char', set: negated ? complement(set) : normalize(set) };
  }

  private parseClassAtom(): CharSet {
    if (this.peek() === 0x5c /* \ */) {
      this.pos++;
      return this.parseCharacterEscape(true);
    }
    const cp = this.src.codePointAt(this.pos) as number;
    this.pos += cp > 0xffff ? 2 : 1;
    return [cp, cp];
  }
}

function backreference(text: string): Refusal {
  return new Refusal(`pattern uses a backreference (${text}); backreferences are not allowed because they can make matching take exponential time`);
}

// ---------------------------------------------------------------------------
// The analysis.

/** The pattern text of `[start, end)`, quoted, shortened when long. */
function quote(src: string, start: number, end: number): string {
  const text = end - start > 60 ? `${src.slice(start, start + 57)}...` : src.slice(start, end);
  return JSON.stringify(text);
}

/**
 * Unbounded, or bounded by more than a few: the outer repetitions whose
 * iterations can multiply the ways of matching. `?`, `{n}` and `{n,m}` with
 * m <= 10 multiply them at most by a constant.
 */
function repeatsMany(q: QuantNode): boolean {
  return q.max > SMALL_REPEAT;
}

/** The first unbounded quantifier inside `node`, `node` itself included. */
function findUnboundedQuantifier(node: Node): QuantNode | undefined {
  if (node.kind === 'quant') {
    if (node.max === Infinity) return node;
    return findUnboundedQuantifier(node.body);
  }
  if (node.kind === 'group') {
    for (const alternative of node.alternatives) {
      for (const term of alternative) {
        const found = findUnboundedQuantifier(term);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * Adds to `out` the characters `node` can start with; returns whether it can
 * match the empty string (and so let the next node's first characters count).
 * Lookarounds and assertions are zero-width and add nothing.
 */
function addFirstChars(node: Node, out: CharSet): boolean {
  switch (node.kind) {
    case 'char':
      out.push(...node.set);
      return false;
    case 'assert':
      return true;
    case 'quant':
      return addFirstChars(node.body, out) || node.min === 0;
    case 'group': {
      if (node.lookaround) return true;
      let nullable = false;
      for (const alternative of node.alternatives) {
        if (addSequenceFirstChars(alternative, 0, out)) nullable = true;
      }
      return nullable;
    }
  }
}

/** `addFirstChars` over `sequence[from..]`. */
function addSequenceFirstChars(sequence: readonly Node[], from: number, out: CharSet): boolean {
  for (let i = from; i < sequence.length; i++) {
    if (!addFirstChars(sequence[i] as Node, out)) return false;
  }
  return true;
}

function firstChars(node: Node): CharSet {
  const out: CharSet = [];
  addFirstChars(node, out);
  return caseFold(normalize(out));
}

/** The first alternation inside `node` (itself included) with two branches that can start alike, as branch indexes. */
function findOverlappingAlternation(node: Node): { group: GroupNode; i: number; j: number } | undefined {
  if (node.kind === 'quant') return findOverlappingAlternation(node.body);
  if (node.kind !== 'group') return undefined;
  if (node.alternatives.length > 1) {
    const firsts = node.alternatives.map((alternative) => {
      const set: CharSet = [];
      addSequenceFirstChars(alternative, 0, set);
      return caseFold(normalize(set));
    });
    for (let i = 0; i < firsts.length; i++) {
      for (let j = i + 1; j < firsts.length; j++) {
        if (intersects(firsts[i] as CharSet, firsts[j] as CharSet)) return { group: node, i, j };
      }
    }
  }
  for (const alternative of node.alternatives) {
    for (const term of alternative) {
      const found = findOverlappingAlternation(term);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The first part of `node` that can match a variable amount of text (a
 * bounded quantifier with max > min, such as `?` or `{1,3}`, or a group
 * with an alternative that matches the empty string) when what can start it
 * can also start what follows it (`follow`, folded). Such a part gives the
 * same text two parses, as `a?` does in `(aa?)+`: text `aa` is `a` + `a?`
 * or two iterations. Inside a repeated group those choices multiply.
 */
function findAmbiguousPart(node: Node, follow: CharSet): Node | undefined {
  switch (node.kind) {
    case 'char':
    case 'assert':
      return undefined;
    case 'quant': {
      if (node.max > node.min && intersects(firstChars(node.body), follow)) return node;
      // Inside the quantifier, the body may be followed by another iteration of itself.
      const inner = node.max > 1 ? normalize([...firstChars(node.body), ...follow]) : follow;
      return findAmbiguousPart(node.body, inner);
    }
    case 'group': {
      // What follows a lookaround's content does not decide its match.
      const after = node.lookaround ? [] : follow;
      let nullable = false;
      for (const alternative of node.alternatives) {
        const set: CharSet = [];
        if (addSequenceFirstChars(alternative, 0, set)) nullable = true;
      }
      if (nullable && !node.lookaround && node.alternatives.length > 1 && intersects(firstChars(node), follow)) return node;
      for (const alternative of node.alternatives) {
        for (let i = 0; i < alternative.length; i++) {
          // Whatever can start the rest of the alternative, and what follows the group if the rest can be empty.
          const rest: CharSet = [];
          const restNullable = addSequenceFirstChars(alternative, i + 1, rest);
          const termFollow = restNullable ? normalize([...caseFold(normalize(rest)), ...after]) : caseFold(normalize(rest));
          const found = findAmbiguousPart(alternative[i] as Node, termFollow);
          if (found) return found;
        }
      }
      return undefined;
    }
  }
}

function nodeStart(node: Node): number {
  return node.kind === 'quant' || node.kind === 'group' ? node.start : -1;
}

function nodeEnd(node: Node): number {
  return node.kind === 'quant' || node.kind === 'group' ? node.end : -1;
}

/** Walks the tree outside in, so the outermost dangerous repetition is the one reported. */
function findCatastrophe(src: string, node: Node): string | undefined {
  if (node.kind === 'quant') {
    if (node.body.kind === 'group' && repeatsMany(node)) {
      const repeated = quote(src, node.start, node.end);
      const unbounded = findUnboundedQuantifier(node.body);
      if (unbounded) {
        return (
          `pattern can backtrack catastrophically: the repeated group ${repeated} contains ` +
          `another unbounded quantifier ${quote(src, unbounded.start, unbounded.end)}`
        );
      }
      const overlap = findOverlappingAlternation(node.body);
      if (overlap) {
        const { group, i, j } = overlap;
        const branch = (k: number) => quote(src, group.starts[k] as number, group.ends[k] as number);
        return (
          `pattern can backtrack catastrophically: the alternatives ${branch(i)} and ${branch(j)} ` +
          `in the repeated group ${repeated} can match the same text`
        );
      }
      // Each iteration is followed by the next one.
      const ambiguous = findAmbiguousPart(node.body, firstChars(node.body));
      if (ambiguous) {
        return (
          `pattern can backtrack catastrophically: in the repeated group ${repeated}, ` +
          `${quote(src, nodeStart(ambiguous), nodeEnd(ambiguous))} matches a variable amount of text ` +
          `and can match the same text as what follows it`
        );
      }
    }
    return findCatastrophe(src, node.body);
  }
  if (node.kind === 'group') {
    for (const alternative of node.alternatives) {
      for (const term of alternative) {
        const found = findCatastrophe(src, term);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * Decides whether `pattern` may be used by the `matches` operator (see the
 * module comment for the rules). Never throws; a non-string is refused.
 */
export function checkRegexPattern(pattern: string): RegexPatternCheck {
  if (typeof pattern !== 'string') return { ok: false, reason: 'pattern must be a string' };
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, reason: `pattern is ${pattern.length} characters long; the limit is 1,000` };
  }
  try {
    new RegExp(pattern, 'u');
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^Invalid regular expression: /, '') : String(error);
    return { ok: false, reason: `pattern is not a valid regular expression (Unicode mode): ${message}` };
  }
  try {
    const root = new Parser(pattern).parse();
    const catastrophe = findCatastrophe(pattern, root);
    return catastrophe === undefined ? OK : { ok: false, reason: catastrophe };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, reason: error.reason };
    // A parser bug must refuse the pattern, not let an unchecked one through.
    return { ok: false, reason: 'pattern uses syntax the safety check cannot analyse' };
  }
}
