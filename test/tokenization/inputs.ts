/**
 * The input classes of the differential tokenizer test (issue 18): every code point in three
 * contexts, grapheme clusters, and a seeded random corpus mixing scripts, whitespace, control and
 * format characters, added-token text written literally and very long inputs.
 */
import { Rng } from '@rerank/model-gen';

/** Every Unicode scalar value: all planes, unassigned, private use and noncharacters included. */
export function allCodePoints(): number[] {
  const out: number[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) out.push(cp);
  return out;
}

/** A text alone, and in one string both inside a word and between words. */
export const CONTEXTS = {
  alone: (c: string) => c,
  'in a word and between words': (c: string) => `a${c}b ${c} a`,
} as const;

const cp = (...points: number[]) => String.fromCodePoint(...points);

/** Grapheme clusters people write, and the edge cases of UAX #29. */
export const GRAPHEME_CLUSTERS: string[] = [
  '👍🏻',
  '👍🏿',
  '🧑🏽‍💻',
  '👨‍👩‍👧‍👦',
  '👩‍❤️‍💋‍👨',
  '🏳️‍🌈',
  '🏴‍☠️',
  '🇫🇷',
  '🇫🇷🇯🇵🇺🇸',
  '🇫🇷🇯',
  cp(0x1f3f4, 0xe0067, 0xe0062, 0xe0065, 0xe006e, 0xe0067, 0xe007f), // England's tag sequence
  '1️⃣',
  '#️⃣',
  '*️⃣',
  cp(0x31, 0x20e3),
  'e\u0301',
  'e\u0301\u0323',
  'a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307',
  'Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e',
  '\u1100\u1161\u11a8',
  '\u1100\u1100\u1161',
  '\uac00\u11a8',
  '\uac01\u11a8\u11a8',
  '\u0915\u094d\u0937',
  '\u0915\u094d\u200d\u0937',
  '\u0995\u09cd\u09b7',
  '\u0ba4\u0bcd\u0ba4',
  '\u0dc1\u0dca\u200d\u0dbb\u0dd3',
  '\u0915\u093e',
  '\u0e01\u0e33',
  '\u0e01\u0e48',
  '\u263a\ufe0e',
  '\u263a\ufe0f',
  '\u845b\u{e0100}',
  '\u26a0\ufe0f',
  '\r\n',
  '\n\r',
  '\u0600\u0661',
  '\u{110bd}\u{11083}',
  '\u200d',
  '\u{1f3fb}',
  '\u{1f1e6}',
  'a\u200db',
  '\u00ad',
  'x\u00ady',
  '\ufeff',
  "it's It'S it'ſ",
];

/** Extenders and bases that make clusters: marks, joiners, selectors, modifiers, jamo, viramas. */
const BASES = ['a', 'e', 'K', '字', '😀', '👩', '❤', '\u1100', '\uac00', '\u0915', '\u0e01', '\u{1f1e6}', '1', ' ', '\u0600', 'ſ'];
const EXTENDERS = [
  '\u0301',
  '\u0323',
  '\u0308',
  '\u20e3',
  '\u200d',
  '\u200c',
  '\ufe0e',
  '\ufe0f',
  '\u{e0100}',
  '\u{1f3fb}',
  '\u{1f3fd}',
  '\u{1f1eb}',
  '\u1161',
  '\u11a8',
  '\u094d',
  '\u093e',
  '\u0e33',
  '\u0e48',
  '❤',
  '👦',
  '\u0915',
];

/** `count` generated clusters (and near-clusters): a base and up to five extenders. */
export function generatedClusters(seed: number, count: number): string[] {
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    let s = rng.pick(BASES);
    for (let n = rng.int(6); n > 0; n--) s += rng.pick(EXTENDERS);
    return s;
  });
}

const ENGLISH = (
  'the of and to in is was for on that with as by at from his her this are which be or had not have one were they ' +
  'all their there been has when who more will would no out so said what up its about into than them can only other ' +
  'new some time could these two may first then do any like my now over such our man me even most made after also ' +
  'river library harbor panda bear capital reranker query passage machine learning model score relevant answer'
).split(' ');
const ACCENTED = 'café naïve résumé façade smörgåsbord Ünïcödé straße STRASSE garçon niño œuvre Ærø Øresund crème brûlée'.split(' ');
const SCRIPTS: [number, number][] = [
  [0x03b1, 0x03c9],
  [0x0391, 0x03a9],
  [0x0430, 0x044f],
  [0x0410, 0x042f],
  [0x05d0, 0x05ea],
  [0x0627, 0x064a],
  [0x0915, 0x0939],
  [0x0995, 0x09b9],
  [0x0e01, 0x0e2e],
  [0x3041, 0x3096],
  [0x30a1, 0x30fa],
  [0xac00, 0xd7a3],
  [0x4e00, 0x9fff],
  [0x20000, 0x2a6df],
  [0x10a0, 0x10ff],
  [0x1200, 0x137f],
];
const MARKS = [0x0301, 0x0308, 0x093e, 0x094d, 0x09cd, 0x0e48, 0x064e, 0x05b8, 0x3099];
const DIGITS = ['0123456789', '٠١٢٣٤٥٦٧٨٩', '０１２３４５６７８９', '०१२३४५६७८९', '²³¹', '½¾⅓', 'ⅠⅡⅫ', '①②⑳', '𝟘𝟙𝟚'];
const PUNCTUATION = [
  ...'.,;:!?\'"()[]{}-–—/\\@#$%^&*_+=<>|~`',
  '。',
  '、',
  '「',
  '」',
  '¿',
  '¡',
  '«',
  '»',
  '„',
  '“',
  '”',
  '…',
  '‰',
  '§',
  '¶',
  '‽',
  '⁂',
];
const WHITESPACE = [
  ' ',
  '\t',
  '\n',
  '\r',
  '\u000b',
  '\u000c',
  '\u0085',
  '\u00a0',
  '\u1680',
  '\u2000',
  '\u2003',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
  '\u200b',
  '\u180e',
  '\ufeff',
  '\u2060',
  '\u2581',
];
const CONTROL = [0x00, 0x01, 0x07, 0x08, 0x0e, 0x1b, 0x1c, 0x1f, 0x7f, 0x80, 0x8f, 0x9f];
const FORMAT = [
  0x00ad, 0x061c, 0x200b, 0x200c, 0x200d, 0x200e, 0x200f, 0x202a, 0x202e, 0x2060, 0x2064, 0x2066, 0x2069, 0xfeff, 0xfff9, 0xfffb, 0xe0001,
  0xe0020, 0xe007f, 0x180e, 0x110bd, 0x1bca0,
];
const COMPAT = [
  'ﬁ',
  'ﬂ',
  '™',
  '㍿',
  'ｈｅｌｌｏ',
  'ＡＢＣ',
  'ℌ',
  'ǅ',
  '㎏',
  'ﾊﾝｶｸ',
  'Å',
  'Ω',
  'ſ',
  'ẞ',
  'İ',
  'ΣΑΣ',
  'ΟΔΟΣ',
  'ﾟ',
  'ｶﾞ',
  '～',
  '〜',
  '①',
];
const CONTRACTIONS = ["'s", "'S", "'ſ", "n't", "'LL", "'Re", "'d", "'M", "'ve", ' \u2019s'];

/** A seeded corpus: `count` strings, most of 1 to 12 pieces, one in a thousand of 300 to 2,500. */
export function randomCorpus(seed: number, count: number, literals: readonly string[]): string[] {
  const rng = new Rng(seed);
  const clusters = [...GRAPHEME_CLUSTERS, ...generatedClusters(seed + 1, 200)];
  const piece = (): string => {
    const r = rng.next();
    if (r < 0.3) {
      const w = rng.pick(ENGLISH);
      const c = rng.next();
      return c < 0.1 ? w[0].toUpperCase() + w.slice(1) : c < 0.13 ? w.toUpperCase() : w;
    }
    if (r < 0.35) return rng.pick(ACCENTED);
    if (r < 0.5) {
      const [lo, hi] = rng.pick(SCRIPTS);
      let w = '';
      for (let n = rng.range(1, 6); n > 0; n--) {
        w += cp(rng.range(lo, hi));
        if (rng.next() < 0.2) w += cp(rng.pick(MARKS));
      }
      return w;
    }
    if (r < 0.55) {
      const digits = [...rng.pick(DIGITS)];
      return Array.from({ length: rng.range(1, 7) }, () => rng.pick(digits)).join('');
    }
    if (r < 0.62) return rng.pick(PUNCTUATION);
    if (r < 0.67) return rng.pick(clusters);
    if (r < 0.72) return Array.from({ length: rng.range(1, 4) }, () => rng.pick(WHITESPACE)).join('');
    if (r < 0.75) return cp(rng.pick(CONTROL));
    if (r < 0.79) return cp(rng.pick(FORMAT));
    if (r < 0.83) {
      // Any plane: assigned or not, private use, noncharacters.
      let c = rng.int(0x110000);
      while (c >= 0xd800 && c <= 0xdfff) c = rng.int(0x110000);
      return cp(c);
    }
    if (r < 0.87) return rng.pick(COMPAT);
    if (r < 0.93) {
      // An added token's text, whole or cut short, with or without spaces around.
      const t = rng.pick(literals);
      const text = rng.next() < 0.8 ? t : t.slice(0, rng.range(1, Math.max(1, t.length - 1)));
      return (rng.next() < 0.3 ? ' ' : '') + text + (rng.next() < 0.3 ? '  ' : '');
    }
    if (r < 0.96) return rng.pick(CONTRACTIONS);
    return ' '.repeat(rng.range(2, 5));
  };
  return Array.from({ length: count }, () => {
    const n = rng.next() < 0.001 ? rng.range(300, 2500) : rng.range(1, 12);
    let s = '';
    for (let i = 0; i < n; i++) {
      s += piece();
      const sep = rng.next();
      if (sep < 0.75) s += ' ';
      else if (sep < 0.8) s += rng.pick(WHITESPACE);
    }
    return rng.next() < 0.5 ? s.trimEnd() : s;
  });
}
