import { RerankerArgumentError } from './errors';
import type { Pair } from './types';

/** True for one `[query, passage]` pair rather than a list of pairs (the reference's test). */
export function isSinglePair(input: unknown): input is Pair {
  return Array.isArray(input) && typeof input[0] === 'string';
}

/** Checks a list of pairs; the error names the first bad item and what it should be. */
export function checkPairs(input: unknown): readonly Pair[] {
  if (!Array.isArray(input))
    throw new RerankerArgumentError('pairs', `expected a [query, passage] pair or a list of them, got ${describe(input)}`);
  const list = isSinglePair(input) ? [input] : input;
  for (let i = 0; i < list.length; i++) {
    const item: unknown = list[i];
    const where = isSinglePair(input) ? 'pair' : `pairs[${i}]`;
    if (!Array.isArray(item) || item.length !== 2) {
      throw new RerankerArgumentError(where, `expected [query, passage] (two strings), got ${describe(item)}`);
    }
    if (typeof item[0] !== 'string') throw new RerankerArgumentError(`${where}[0]`, `the query must be a string, got ${describe(item[0])}`);
    if (typeof item[1] !== 'string')
      throw new RerankerArgumentError(`${where}[1]`, `the passage must be a string, got ${describe(item[1])}`);
  }
  return list as readonly Pair[];
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : `a list of ${v.length}`;
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
