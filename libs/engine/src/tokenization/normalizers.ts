/**
 * The normalizers of tokenizer.json, as the reference (Hugging Face `tokenizers` 0.19, Rust) applies
 * them: character classes and normalization forms at the Unicode versions of its crates
 * (unicode/properties.ts), Precompiled with its charsmap (precompiled-charsmap.ts), patterns as
 * Oniguruma matches them (onig-pattern.ts).
 */
import { OnigPattern, type PatternJson } from './onig-pattern';
import { PrecompiledCharsmap } from './precompiled-charsmap';
import { normalize } from './unicode/normalization';
import { combiningMarks, controlChars, isWhitespace, lowercased, nonspacingMarks } from './unicode/properties';

export type Normalizer = (text: string) => string;
type Json = Record<string, unknown>;

/** The normalizer a tokenizer.json describes (`null`: none). */
export function makeNormalizer(json: Json | null | undefined): Normalizer | undefined {
  if (!json) return undefined;
  switch (json.type) {
    case 'BertNormalizer':
      return bertNormalizer(json);
    case 'Precompiled': {
      const charsmap = new PrecompiledCharsmap(typeof json.precompiled_charsmap === 'string' ? json.precompiled_charsmap : '');
      return (t) => charsmap.normalize(t);
    }
    case 'Sequence': {
      const steps = ((json.normalizers as Json[] | undefined) ?? []).map(makeNormalizer).filter((n): n is Normalizer => !!n);
      return (t) => steps.reduce((s, n) => n(s), t);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = json.type;
      return (t) => normalize(t, form);
    }
    case 'Lowercase':
      return lowercase;
    case 'StripAccents':
      return (t) => filterChars(t, (cp) => !combiningMarks().has(cp));
    case 'Strip':
      return strip(json.strip_left === true, json.strip_right === true);
    case 'Replace': {
      const pattern = new OnigPattern(json.pattern as PatternJson);
      const content = typeof json.content === 'string' ? json.content : '';
      return (t) => pattern.replace(t, content);
    }
    case 'Prepend': {
      const prepend = typeof json.prepend === 'string' ? json.prepend : '';
      return (t) => (t.length ? prepend + t : t);
    }
    case 'Nmt':
      return nmt;
    default:
      throw new Error(`unknown normalizer type ${JSON.stringify(json.type)}`);
  }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

function bertNormalizer(json: Json): Normalizer {
  const clean = json.clean_text !== false;
  const chinese = json.handle_chinese_chars !== false;
  const lower = json.lowercase !== false;
  const accents = typeof json.strip_accents === 'boolean' ? json.strip_accents : lower;
  return (text) => {
    // Printable ASCII: nothing to clean, split or strip.
    if (PRINTABLE_ASCII.test(text)) return lower ? text.toLowerCase() : text;
    let t = text;
    if (clean)
      t = mapChars(t, (cp) => {
        if (cp === 0 || cp === 0xfffd || (cp !== 9 && cp !== 10 && cp !== 13 && controlChars().has(cp))) return '';
        return cp !== 0x20 && isWhitespace(cp) ? ' ' : undefined;
      });
    if (chinese) t = mapChars(t, (cp) => (isChineseChar(cp) ? ` ${String.fromCodePoint(cp)} ` : undefined));
    if (accents) t = filterChars(normalize(t, 'NFD'), (cp) => !nonspacingMarks().has(cp));
    if (lower) t = lowercase(t);
    return t;
  };
}

/** Lowercase, character by character. */
function lowercase(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.toLowerCase() : mapChars(text, lowercased);
}

/** BertNormalizer's "Chinese characters": the CJK blocks it lists. */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function strip(left: boolean, right: boolean): Normalizer {
  return (text) => {
    let start = 0;
    let end = text.length;
    if (left)
      while (start < end) {
        const cp = text.codePointAt(start) as number;
        if (!isWhitespace(cp)) break;
        start += cp > 0xffff ? 2 : 1;
      }
    if (right)
      while (end > start) {
        const low = text.charCodeAt(end - 1);
        const width = low >= 0xdc00 && low <= 0xdfff && end - 2 >= start ? 2 : 1;
        if (!isWhitespace(text.codePointAt(end - width) as number)) break;
        end -= width;
      }
    return text.slice(start, end);
  };
}

/** The `Nmt` normalizer: drops ASCII control characters, turns other spaces into ' '. */
function nmt(text: string): string {
  return mapChars(text, (cp) => {
    if ((cp >= 1 && cp <= 8) || cp === 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp === 0x7f || cp === 0x8f || cp === 0x9f) return '';
    if (
      cp === 9 ||
      cp === 10 ||
      cp === 12 ||
      cp === 13 ||
      cp === 0x1680 ||
      (cp >= 0x200b && cp <= 0x200f) ||
      cp === 0x2028 ||
      cp === 0x2029 ||
      cp === 0x2581 ||
      cp === 0xfeff ||
      cp === 0xfffd
    )
      return ' ';
    return undefined;
  });
}

/** `text` with each code point for which `map` gives a string replaced by it (undefined: kept). */
function mapChars(text: string, map: (cp: number) => string | undefined): string {
  let out = '';
  let kept = 0;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    const replacement = map(cp);
    if (replacement !== undefined) {
      out += text.slice(kept, i) + replacement;
      kept = i + width;
    }
    i += width;
  }
  return kept === 0 ? text : out + text.slice(kept);
}

function filterChars(text: string, keep: (cp: number) => boolean): string {
  return mapChars(text, (cp) => (keep(cp) ? undefined : ''));
}
