/**
 * The patterns of Split and Replace (`{"String": ...}` or `{"Regex": ...}`), which the reference runs
 * on Oniguruma 6.9.8. The Oniguruma syntax is translated to a JavaScript RegExp by
 * `@huggingface/tokenizers` (its translation is kept); what differs is fixed here:
 * - Unicode properties (`\p{L}`, `\s`, ...) are spelled out with Oniguruma's own tables (Unicode 14.0),
 *   so matches do not follow Node's Unicode version;
 * - case-insensitive groups (`(?i:'s|'t|...)`) fold `s` and `k` with `ſ` and the Kelvin sign, as
 *   Oniguruma does (the translation folds ASCII letters only);
 * - matches are enumerated as Oniguruma's iterator does (an empty match right after a match is skipped).
 */
import { SplitPreTokenizer } from '@huggingface/tokenizers';
import { CodePointSet } from './unicode/code-point-set';
import { ONIG } from './unicode/tables';

export interface PatternJson {
  String?: string;
  Regex?: string;
}

/** Reports the pieces that cover a text, in order: UTF-16 offsets and whether the piece is a match. */
export type Finder = (text: string, piece: (start: number, end: number, match: boolean) => void) => void;

export class OnigPattern {
  private readonly regex: RegExp;
  /**
   * The same pattern without the astral ranges of its classes, for text without astral characters
   * (where it matches the same): V8 runs classes holding astral ranges several times slower.
   */
  private readonly bmpRegex: RegExp;

  constructor(pattern: PatternJson) {
    if (typeof pattern.String === 'string') {
      this.regex = new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'gu');
      this.bmpRegex = this.regex;
    } else if (typeof pattern.Regex === 'string') {
      const translated = new SplitPreTokenizer({ type: 'Split', pattern: { Regex: pattern.Regex }, behavior: 'Isolated', invert: false })
        .pattern;
      if (!translated) throw new Error(`cannot translate the pattern ${JSON.stringify(pattern.Regex)}`);
      const folded = foldLikeOniguruma(translated.source);
      this.regex = new RegExp(pinProperties(folded, false), 'gu');
      this.bmpRegex = new RegExp(pinProperties(folded, true), 'gu');
    } else {
      throw new Error(`a pattern is {"String": ...} or {"Regex": ...}, got ${JSON.stringify(pattern)}`);
    }
  }

  /** Matches and the text between them, as the reference's `find_matches` finds them. */
  forEachPiece(text: string, piece: (start: number, end: number, match: boolean) => void): void {
    if (text.length === 0) return piece(0, 0, false);
    const re = /[\ud800-\udfff]/.test(text) ? this.regex : this.bmpRegex;
    let previous = 0;
    let searchFrom = 0;
    let lastMatchEnd = -1;
    while (searchFrom <= text.length) {
      re.lastIndex = searchFrom;
      const m = re.exec(text);
      if (!m) break;
      const start = m.index;
      const end = start + m[0].length;
      if (end === start && end === lastMatchEnd) {
        searchFrom += searchFrom < text.length && (text.codePointAt(searchFrom) as number) > 0xffff ? 2 : 1;
        continue;
      }
      searchFrom = end;
      lastMatchEnd = end;
      if (previous !== start) piece(previous, start, false);
      piece(start, end, true);
      previous = end;
    }
    if (previous !== text.length) piece(previous, text.length, false);
  }

  /** Every match replaced by `content` (taken literally). */
  replace(text: string, content: string): string {
    let out = '';
    this.forEachPiece(text, (start, end, match) => (out += match ? content : text.slice(start, end)));
    return out;
  }
}

function foldLikeOniguruma(source: string): string {
  return source.replaceAll('[sS]', '[sS\u017f]').replaceAll('[kK]', '[kK\u212a]');
}

const GENERAL: Record<string, string[]> = {
  L: ['Lu', 'Ll', 'Lt', 'Lm', 'Lo'],
  LC: ['Lu', 'Ll', 'Lt'],
  M: ['Mn', 'Mc', 'Me'],
  N: ['Nd', 'Nl', 'No'],
  P: ['Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po'],
  S: ['Sm', 'Sc', 'Sk', 'So'],
  Z: ['Zs', 'Zl', 'Zp'],
};
const LONG_NAMES: Record<string, string> = {
  Letter: 'L',
  Cased_Letter: 'LC',
  Mark: 'M',
  Number: 'N',
  Punctuation: 'P',
  Symbol: 'S',
  Separator: 'Z',
  Other: 'C',
  Unassigned: 'Cn',
  Space: 'White_Space',
  Alpha: 'Alphabetic',
};
const ASSIGNED = Object.keys(ONIG).filter((k) => k.length === 2);
const sets = new Map<string, CodePointSet | undefined>();

/** Oniguruma's set for a property name, or undefined for one it is not given here (scripts, ...). */
function onigSet(rawName: string): CodePointSet | undefined {
  const name = LONG_NAMES[rawName] ?? rawName.replace(/^General_Category=|^gc=/, '');
  if (sets.has(name)) return sets.get(name);
  let set: CodePointSet | undefined;
  if (ONIG[name] !== undefined) set = CodePointSet.decode(ONIG[name]);
  else if (GENERAL[name]) set = CodePointSet.union(...GENERAL[name].map((c) => CodePointSet.decode(ONIG[c])));
  else if (name === 'Cn' || name === 'C') {
    const unassigned = CodePointSet.union(...ASSIGNED.map((c) => CodePointSet.decode(ONIG[c]))).complement();
    set = name === 'Cn' ? unassigned : CodePointSet.union(unassigned, ...['Cc', 'Cf', 'Cs', 'Co'].map((c) => CodePointSet.decode(ONIG[c])));
  }
  sets.set(name, set);
  return set;
}

/**
 * Replaces `\p{..}` / `\P{..}` by Oniguruma's ranges, inside and outside character classes (`bmp`:
 * only their ranges below U+10000).
 */
function pinProperties(source: string, bmp: boolean): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === '\\') {
      const m = /^\\([pP])\{([^}]+)\}/.exec(source.slice(i));
      const set = m ? onigSet(m[2]) : undefined;
      if (m && set) {
        const body = (m[1] === 'P' ? set.complement() : set).classBody(bmp);
        out += inClass ? body : `[${body}]`;
        i += m[0].length - 1;
      } else {
        out += source.slice(i, i + 2);
        i++;
      }
    } else {
      if (ch === '[') inClass = true;
      else if (ch === ']') inClass = false;
      out += ch;
    }
  }
  return out;
}
