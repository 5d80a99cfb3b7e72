/**
 * Extended grapheme clusters as the `unicode-segmentation` crate 1.11.0 finds them (what the reference's
 * Precompiled normalizer walks): the rules of Unicode 15.0's UAX #29 (GB3 to GB13, no GB9c) over its
 * Unicode 15.1 data. `Intl.Segmenter` follows Node's ICU instead, with GB9c (Indic conjuncts) and
 * newer data, so it splits some text differently.
 */
import { CodePointSet } from './code-point-set';
import { GRAPHEME } from './tables';

const enum Cat {
  Any,
  CR,
  LF,
  Control,
  Extend,
  ZWJ,
  RegionalIndicator,
  Prepend,
  SpacingMark,
  L,
  V,
  T,
  LV,
  LVT,
  ExtendedPictographic,
}

const TABLE_CATS: [string, Cat][] = [
  ['CR', Cat.CR],
  ['LF', Cat.LF],
  ['Control', Cat.Control],
  ['Extend', Cat.Extend],
  ['ZWJ', Cat.ZWJ],
  ['Regional_Indicator', Cat.RegionalIndicator],
  ['Prepend', Cat.Prepend],
  ['SpacingMark', Cat.SpacingMark],
  ['L', Cat.L],
  ['V', Cat.V],
  ['T', Cat.T],
  ['LV', Cat.LV],
  ['LVT', Cat.LVT],
  ['Extended_Pictographic', Cat.ExtendedPictographic],
];

let bmp: Uint8Array | undefined;
let astral: { start: Uint32Array; end: Uint32Array; cat: Uint8Array } | undefined;

function load(): void {
  bmp = new Uint8Array(0x10000);
  const rows: [number, number, Cat][] = [];
  for (const [name, cat] of TABLE_CATS) {
    const { ranges } = CodePointSet.decode(GRAPHEME[name]);
    for (let i = 0; i < ranges.length; i += 2) {
      for (let cp = ranges[i]; cp <= Math.min(ranges[i + 1], 0xffff); cp++) bmp[cp] = cat;
      if (ranges[i + 1] > 0xffff) rows.push([Math.max(ranges[i], 0x10000), ranges[i + 1], cat]);
    }
  }
  rows.sort((a, b) => a[0] - b[0]);
  astral = {
    start: Uint32Array.from(rows.map((r) => r[0])),
    end: Uint32Array.from(rows.map((r) => r[1])),
    cat: Uint8Array.from(rows.map((r) => r[2])),
  };
}

function category(cp: number): Cat {
  if (!bmp) load();
  if (cp <= 0xffff) return (bmp as Uint8Array)[cp];
  const { start, end, cat } = astral as { start: Uint32Array; end: Uint32Array; cat: Uint8Array };
  let lo = 0;
  let hi = start.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (cp < start[mid]) hi = mid - 1;
    else if (cp > end[mid]) lo = mid + 1;
    else return cat[mid];
  }
  return Cat.Any;
}

/**
 * Calls `each(start, end)` with the UTF-16 bounds of every extended grapheme cluster of `text`,
 * in order.
 */
export function forEachGrapheme(text: string, each: (start: number, end: number) => void): void {
  let start = 0;
  let before: Cat | undefined;
  // Regional indicators just before the candidate boundary (GB12, GB13).
  let regional = 0;
  // Whether the text before the candidate boundary ends with ExtPict Extend* (GB11, before its ZWJ).
  let pictographic = false;
  // Whether it ends with ExtPict Extend* ZWJ.
  let pictographicZwj = false;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const after = category(cp);
    if (before !== undefined && isBreak(before, after, regional, pictographicZwj)) {
      each(start, i);
      start = i;
    }
    regional = after === Cat.RegionalIndicator ? regional + 1 : 0;
    pictographicZwj = after === Cat.ZWJ && pictographic;
    pictographic = after === Cat.ExtendedPictographic || (after === Cat.Extend && pictographic);
    before = after;
    i += cp > 0xffff ? 2 : 1;
  }
  if (text.length > 0) each(start, text.length);
}

function isBreak(before: Cat, after: Cat, regional: number, pictographicZwj: boolean): boolean {
  if (before === Cat.CR && after === Cat.LF) return false; // GB3
  if (before === Cat.Control || before === Cat.CR || before === Cat.LF) return true; // GB4
  if (after === Cat.Control || after === Cat.CR || after === Cat.LF) return true; // GB5
  if (before === Cat.L && (after === Cat.L || after === Cat.V || after === Cat.LV || after === Cat.LVT)) return false; // GB6
  if ((before === Cat.LV || before === Cat.V) && (after === Cat.V || after === Cat.T)) return false; // GB7
  if ((before === Cat.LVT || before === Cat.T) && after === Cat.T) return false; // GB8
  if (after === Cat.Extend || after === Cat.ZWJ) return false; // GB9
  if (after === Cat.SpacingMark) return false; // GB9a
  if (before === Cat.Prepend) return false; // GB9b
  if (before === Cat.ZWJ && after === Cat.ExtendedPictographic) return !pictographicZwj; // GB11
  if (before === Cat.RegionalIndicator && after === Cat.RegionalIndicator) return regional % 2 === 0; // GB12, GB13
  return true; // GB999
}
