/**
 * The pre-tokenizers of tokenizer.json, as the reference (Hugging Face `tokenizers` 0.19, Rust)
 * splits: character classes at its crates' Unicode versions, patterns as Oniguruma matches them,
 * and the five delimiter behaviors of its `NormalizedString::split`.
 */
import { type Finder, OnigPattern, type PatternJson } from './onig-pattern';
import { isPunctuation, isWhitespace, numericChars, wordChars } from './unicode/properties';

/** A piece of normalized text; `first`: it starts the original text (Metaspace's "first" scheme). */
export interface Split {
  text: string;
  first: boolean;
}

export type PreTokenizer = (splits: Split[]) => Split[];
type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
type Json = Record<string, unknown>;

const BEHAVIORS = new Set<Behavior>(['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']);

function behavior(value: unknown, fallback?: Behavior): Behavior {
  if (value === undefined && fallback) return fallback;
  if (typeof value === 'string' && BEHAVIORS.has(value as Behavior)) return value as Behavior;
  throw new Error(`unknown split behavior ${JSON.stringify(value)}`);
}

/** The pre-tokenizer a tokenizer.json describes (`null`: none). */
export function makePreTokenizer(json: Json | null | undefined): PreTokenizer | undefined {
  if (!json) return undefined;
  switch (json.type) {
    case 'Sequence': {
      const steps = ((json.pretokenizers as Json[] | undefined) ?? []).map(makePreTokenizer).filter((p): p is PreTokenizer => !!p);
      return (splits) => steps.reduce((s, step) => step(s), splits);
    }
    case 'BertPreTokenizer':
      return (splits) => splitAll(splitAll(splits, WHITESPACE, 'Removed'), PUNCTUATION, 'Isolated');
    case 'WhitespaceSplit':
      return (splits) => splitAll(splits, WHITESPACE, 'Removed');
    case 'Whitespace':
      return (splits) => splitAll(splits, wordRuns, 'Removed');
    case 'CharDelimiterSplit': {
      const delimiter = String(json.delimiter).codePointAt(0);
      const find = charPieces((cp) => cp === delimiter);
      return (splits) => splitAll(splits, find, 'Removed');
    }
    case 'Punctuation': {
      const how = behavior(json.behavior, 'Isolated');
      return (splits) => splitAll(splits, PUNCTUATION, how);
    }
    case 'Digits': {
      const how: Behavior = json.individual_digits === true ? 'Isolated' : 'Contiguous';
      return (splits) => splitAll(splits, DIGITS, how);
    }
    case 'Split': {
      const pattern = new OnigPattern(json.pattern as PatternJson);
      const how = behavior(json.behavior);
      const find: Finder =
        json.invert === true
          ? (t, piece) => pattern.forEachPiece(t, (s, e, m) => piece(s, e, !m))
          : (t, piece) => pattern.forEachPiece(t, piece);
      return (splits) => splitAll(splits, find, how);
    }
    case 'Metaspace':
      return metaspace(json);
    case 'ByteLevel':
      return byteLevel(json.add_prefix_space === true, json.use_regex !== false);
    default:
      throw new Error(`the pre-tokenizer ${JSON.stringify(json.type)} is not supported`);
  }
}

const WHITESPACE = charPieces(isWhitespace);
const PUNCTUATION = charPieces(isPunctuation);
const DIGITS = charPieces((cp) => numericChars().has(cp));

function metaspace(json: Json): PreTokenizer {
  const replacement = typeof json.replacement === 'string' ? json.replacement : '\u2581';
  let scheme = typeof json.prepend_scheme === 'string' ? json.prepend_scheme : 'always';
  // Files written before prepend_scheme existed say add_prefix_space.
  if (json.add_prefix_space === false) scheme = 'never';
  if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') throw new Error(`unknown prepend_scheme ${JSON.stringify(scheme)}`);
  const split = json.split !== false;
  const mark = replacement.codePointAt(0);
  const marks = charPieces((cp) => cp === mark);
  return (splits) => {
    const replaced = splits.map((s) => {
      let text = s.text.replaceAll(' ', replacement);
      if (!text.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && s.first))) text = replacement + text;
      return { text, first: s.first };
    });
    return split ? splitAll(replaced, marks, 'MergedWithNext') : replaced;
  };
}

/** GPT-2's split of ByteLevel (use_regex), on Oniguruma as the reference runs it. */
const BYTE_LEVEL_SPLIT = new OnigPattern({ Regex: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+" });
/** GPT-2's printable stand-in for each byte. */
const BYTE_CHARS: string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();

function byteLevel(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  return (splits) => {
    const prefixed = addPrefixSpace ? splits.map((s) => (s.text.startsWith(' ') ? s : { text: ' ' + s.text, first: s.first })) : splits;
    const pieces = useRegex ? splitAll(prefixed, (t, piece) => BYTE_LEVEL_SPLIT.forEachPiece(t, piece), 'Isolated') : prefixed;
    return pieces.map((s) => ({ text: toByteChars(s.text), first: s.first }));
  };
}

/** Each UTF-8 byte of the text as its stand-in. */
function toByteChars(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const cp = text.codePointAt(i) as number;
    if (cp < 0x80) out += BYTE_CHARS[cp];
    else if (cp < 0x800) out += BYTE_CHARS[0xc0 | (cp >> 6)] + BYTE_CHARS[0x80 | (cp & 0x3f)];
    else if (cp < 0x10000) out += BYTE_CHARS[0xe0 | (cp >> 12)] + BYTE_CHARS[0x80 | ((cp >> 6) & 0x3f)] + BYTE_CHARS[0x80 | (cp & 0x3f)];
    else {
      out +=
        BYTE_CHARS[0xf0 | (cp >> 18)] +
        BYTE_CHARS[0x80 | ((cp >> 12) & 0x3f)] +
        BYTE_CHARS[0x80 | ((cp >> 6) & 0x3f)] +
        BYTE_CHARS[0x80 | (cp & 0x3f)];
      i++;
    }
  }
  return out;
}

/** Reports each code point for which `test` holds as a match of its own (the reference's char patterns). */
function charPieces(test: (cp: number) => boolean): Finder {
  return (text, piece) => {
    let last = 0;
    for (let i = 0; i < text.length;) {
      const cp = text.codePointAt(i) as number;
      const width = cp > 0xffff ? 2 : 1;
      if (test(cp)) {
        if (last < i) piece(last, i, false);
        piece(i, i + width, true);
        last = i + width;
      }
      i += width;
    }
    if (last < text.length) piece(last, text.length, false);
  };
}

/** `\w+|[^\w\s]+` of the `regex` crate: its matches are kept, the rest (whitespace) is removed. */
const wordRuns: Finder = (text, piece) => {
  const words = wordChars();
  const kind = (cp: number) => (words.has(cp) ? 1 : isWhitespace(cp) ? 0 : 2);
  for (let i = 0; i < text.length;) {
    const first = kind(text.codePointAt(i) as number);
    let j = i;
    while (j < text.length) {
      const cp = text.codePointAt(j) as number;
      if (kind(cp) !== first) break;
      j += cp > 0xffff ? 2 : 1;
    }
    piece(i, j, first === 0);
    i = j;
  }
};

/**
 * Splits every piece of text at what `find` reports as matches, keeping the spans the behavior keeps
 * (the reference's `NormalizedString::split`): Isolated every piece, Removed the pieces between
 * matches, Contiguous runs of pieces of one kind, MergedWithPrevious a match with the piece before
 * it, MergedWithNext a match with the piece after it.
 */
function splitAll(splits: Split[], find: Finder, how: Behavior): Split[] {
  const out: Split[] = [];
  for (const s of splits) {
    const { text, first } = s;
    const emit = (start: number, end: number) => {
      if (end > start) out.push({ text: text.slice(start, end), first: first && start === 0 });
    };
    // The span not yet emitted (the next piece may extend it), and the kind of the last piece.
    let pending = false;
    let pStart = 0;
    let pEnd = 0;
    let previous = false;
    find(text, (start, end, match) => {
      switch (how) {
        case 'Isolated':
          return emit(start, end);
        case 'Removed':
          return match ? undefined : emit(start, end);
        case 'Contiguous':
        case 'MergedWithPrevious': {
          const extend = how === 'Contiguous' ? match === previous : match && !previous;
          if (pending && extend) pEnd = end;
          else {
            if (pending) emit(pStart, pEnd);
            [pending, pStart, pEnd] = [true, start, end];
          }
          previous = match;
          return;
        }
        case 'MergedWithNext':
          // A held match joins the piece after it when that piece is not a match.
          if (pending) {
            if (!match) {
              pending = false;
              return emit(pStart, end);
            }
            emit(pStart, pEnd);
          }
          if (match) [pending, pStart, pEnd] = [true, start, end];
          else emit(start, end);
          return;
      }
    });
    if (pending) emit(pStart, pEnd);
  }
  return out;
}
