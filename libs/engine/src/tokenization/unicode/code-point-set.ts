/**
 * A set of code points read from one of tables.ts's range lists (base-36: gap after the previous
 * range, then length minus one). Membership is a bit test in the Basic Multilingual Plane and a
 * binary search above it.
 */
export class CodePointSet {
  /** [start0, end0, start1, end1, ...], ascending. */
  readonly ranges: Uint32Array;
  private readonly bmp = new Uint32Array(2048);

  constructor(ranges: Uint32Array) {
    this.ranges = ranges;
    for (let i = 0; i < ranges.length; i += 2) {
      const end = Math.min(ranges[i + 1], 0xffff);
      for (let cp = ranges[i]; cp <= end; cp++) this.bmp[cp >>> 5] |= 1 << (cp & 31);
    }
  }

  static decode(encoded: string): CodePointSet {
    const values = encoded === '' ? [] : encoded.split(',').map((v) => parseInt(v, 36));
    const ranges = new Uint32Array(values.length);
    let previous = -1;
    for (let i = 0; i < values.length; i += 2) {
      const start = previous + 1 + values[i];
      ranges[i] = start;
      ranges[i + 1] = start + values[i + 1];
      previous = ranges[i + 1];
    }
    return new CodePointSet(ranges);
  }

  /** The union of several sets. */
  static union(...sets: CodePointSet[]): CodePointSet {
    const all: [number, number][] = [];
    for (const s of sets) for (let i = 0; i < s.ranges.length; i += 2) all.push([s.ranges[i], s.ranges[i + 1]]);
    all.sort((a, b) => a[0] - b[0]);
    const merged: number[] = [];
    for (const [a, b] of all) {
      const n = merged.length;
      if (n && a <= merged[n - 1] + 1) merged[n - 1] = Math.max(merged[n - 1], b);
      else merged.push(a, b);
    }
    return new CodePointSet(Uint32Array.from(merged));
  }

  /** Every code point not in the set (surrogates included). */
  complement(): CodePointSet {
    const out: number[] = [];
    let next = 0;
    for (let i = 0; i < this.ranges.length; i += 2) {
      if (this.ranges[i] > next) out.push(next, this.ranges[i] - 1);
      next = this.ranges[i + 1] + 1;
    }
    if (next <= 0x10ffff) out.push(next, 0x10ffff);
    return new CodePointSet(Uint32Array.from(out));
  }

  has(cp: number): boolean {
    if (cp <= 0xffff) return (this.bmp[cp >>> 5] & (1 << (cp & 31))) !== 0;
    const r = this.ranges;
    let lo = 0;
    let hi = (r.length >>> 1) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (cp < r[2 * mid]) hi = mid - 1;
      else if (cp > r[2 * mid + 1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** The set as the inside of a regular expression class (`u` flag): `\u{41}-\u{5a}...` (`bmp`: below U+10000 only). */
  classBody(bmp = false): string {
    let out = '';
    for (let i = 0; i < this.ranges.length; i += 2) {
      const a = this.ranges[i];
      const b = bmp ? Math.min(this.ranges[i + 1], 0xffff) : this.ranges[i + 1];
      if (a > b) break;
      out += a === b ? `\\u{${a.toString(16)}}` : `\\u{${a.toString(16)}}-\\u{${b.toString(16)}}`;
    }
    return out;
  }
}
