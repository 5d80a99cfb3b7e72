import { RerankerArgumentError } from '../errors';
import type { PairTemplate } from '../tokenization/text-tokenizer';
import type { Truncation } from '../types';
import {
  checkLongest,
  checkPositions,
  type EncodedPair,
  type LengthLimits,
  type QueryOverflowNotice,
  truncateSecond,
} from './encoded-pair';

/**
 * Cross-encoder input: the tokenizer's pair template over the query and passage ids, cut to maxLength
 * in all by the model's truncation:
 * - only_second (FlagEmbedding): the query cut to queryMaxLength, the passage to maxLength, then the
 *   passage's end until the pair fits;
 * - longest_first (Hugging Face tokenizers' default, sentence-transformers' CrossEncoder): the query
 *   cut to queryMaxLength only when one is given, then the longer text first (see longestFirst).
 */
export class EncoderSequences {
  constructor(
    private readonly template: PairTemplate,
    private readonly withTypeIds: boolean,
  ) {}

  /** The smallest maxLength that leaves one token for each sequence. */
  get minMaxLength(): number {
    return this.template.specialCount + 2;
  }

  checkLimits(limits: LengthLimits): void {
    if (limits.maxLength < this.minMaxLength) {
      throw new RerankerArgumentError(
        'maxLength',
        `${limits.maxLength} is below what the pair template needs (${this.template.specialCount} special tokens and one token of each text); use at least ${this.minMaxLength}`,
      );
    }
    // Truncation keeps a pair within maxLength (unless its query alone fills it: see build).
    checkLongest(limits.maxLength, limits, 'query, passage and special tokens');
  }

  build(
    query: number[],
    passage: number[],
    limits: LengthLimits,
    truncation: Truncation,
    pairIndex: number,
    onOverflow?: QueryOverflowNotice,
  ): EncodedPair {
    let q = query.length > limits.queryMaxLength ? query.slice(0, limits.queryMaxLength) : query;
    let p: number[];
    if (truncation === 'longest_first') {
      const [n1, n2] = longestFirst(q.length, passage.length, limits.maxLength - this.template.specialCount);
      q = q.slice(0, n1);
      p = passage.slice(0, n2);
    } else {
      p = passage.length > limits.maxLength ? passage.slice(0, limits.maxLength) : passage;
      p = truncateSecond(p, q.length + this.template.specialCount, limits.maxLength, pairIndex, onOverflow);
    }
    checkPositions(q.length + this.template.specialCount + p.length, limits, pairIndex);
    const { ids, typeIds } = this.template.apply(q, p);
    return this.withTypeIds ? { ids, typeIds } : { ids };
  }
}

/**
 * Hugging Face tokenizers' *longest_first* truncation of a pair to `target` tokens (maxLength less the
 * template's special tokens): lengths kept of the first and second sequence. When only the longer
 * one must give way it keeps `target` minus the shorter; when both must, the shorter keeps half of
 * `target` rounded down and the longer the rest (the first counts as the shorter on a tie).
 */
export function longestFirst(first: number, second: number, target: number): [number, number] {
  if (first + second <= target) return [first, second];
  const swap = first > second;
  const short = swap ? second : first;
  const long = swap ? first : second;
  let keepShort = short;
  let keepLong = short > target ? short : Math.max(short, target - short);
  if (keepShort + keepLong > target) {
    keepShort = Math.floor(target / 2);
    keepLong = keepShort + (target % 2);
  }
  keepShort = Math.min(keepShort, short);
  keepLong = Math.min(keepLong, long);
  return swap ? [keepLong, keepShort] : [keepShort, keepLong];
}
