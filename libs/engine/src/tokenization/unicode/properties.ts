/**
 * The Unicode properties the reference tokenizer consults, each at the Unicode version of the crate
 * that answers it there (tables.ts says which), so results do not follow Node's ICU version.
 */
import { CodePointSet } from './code-point-set';
import * as T from './tables';

function lazy(encoded: string): () => CodePointSet {
  let set: CodePointSet | undefined;
  return () => (set ??= CodePointSet.decode(encoded));
}

/** BertNormalizer's control characters (Cc, Cf, Co in Unicode 9.0). */
export const controlChars = lazy(T.UC9_CONTROL);
/** BertNormalizer's accents (Mn in Unicode 9.0). */
export const nonspacingMarks = lazy(T.UC9_NONSPACING_MARK);
/** unicode_categories' punctuation (P* in Unicode 9.0). */
export const punctuationChars = lazy(T.UC9_PUNCTUATION);
/** StripAccents' combining marks (M in Unicode 9.0). */
export const combiningMarks = lazy(T.UN9_COMBINING_MARK);
/** Code points assigned by Unicode 9.0, the normalization forms' version. */
export const assigned9 = lazy(T.ASSIGNED_9);
/** Rust's `char::is_numeric`. */
export const numericChars = lazy(T.NUMERIC);
/** Rust's `char::is_whitespace` (White_Space). */
export const whiteSpace = lazy(T.WHITE_SPACE);
/** The `regex` crate's `\w`. */
export const wordChars = lazy(T.PERL_WORD);
const changesWhenLowercased = lazy(T.CHANGES_WHEN_LOWERCASED);

export function isWhitespace(cp: number): boolean {
  return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d) || (cp > 0x7f && whiteSpace().has(cp));
}

/** Rust's `char::is_ascii_punctuation(c) || c.is_punctuation()` (BertPreTokenizer, Punctuation). */
export function isPunctuation(cp: number): boolean {
  if (cp < 0x80)
    return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e);
  return punctuationChars().has(cp);
}

/**
 * Rust's `char::to_lowercase` of one code point, without context (no final sigma), when it changes
 * it: JavaScript's mapping (full mappings included) where the reference's Unicode version has one.
 */
export function lowercased(cp: number): string | undefined {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? String.fromCharCode(cp + 32) : undefined;
  return changesWhenLowercased().has(cp) ? String.fromCodePoint(cp).toLowerCase() : undefined;
}

/** UTF-8 length of a code point. */
export function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Lone surrogates become U+FFFD, as in UTF-8 (the reference's strings cannot hold them). */
export function wellFormed(text: string): string {
  return /[\ud800-\udfff]/.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text;
}
