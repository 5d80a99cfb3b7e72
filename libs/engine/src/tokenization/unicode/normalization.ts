/**
 * NFC, NFD, NFKC and NFKD as the reference computes them: `unicode-normalization-alignments` 0.1.12,
 * whose data is Unicode 9.0. Unicode's normalization stability policy makes JavaScript's forms (any
 * later version) equal on text assigned by 9.0; a code point assigned later is, under 9.0, a starter
 * without decomposition or composition, so nothing reorders or composes across it: the text is
 * normalized in the runs between such code points, which are kept as they are.
 */
import { assigned9 } from './properties';

export type NormalForm = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

export function normalize(text: string, form: NormalForm): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  const assigned = assigned9();
  let out = '';
  let start = 0;
  for (let i = 0; i < text.length;) {
    const cp = text.codePointAt(i) as number;
    const width = cp > 0xffff ? 2 : 1;
    if (cp >= 0x80 && !assigned.has(cp)) {
      out += text.slice(start, i).normalize(form) + text.slice(i, i + width);
      start = i + width;
    }
    i += width;
  }
  return start === 0 ? text.normalize(form) : out + text.slice(start).normalize(form);
}
