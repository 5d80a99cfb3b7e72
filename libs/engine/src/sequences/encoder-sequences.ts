import { RerankerArgumentError } from '../errors';
import type { PairTemplate } from '../tokenization/text-tokenizer';
import {
  checkLongest,
  checkPositions,
  type EncodedPair,
  type LengthLimits,
  type QueryOverflowNotice,
  truncateSecond,
} from './encoded-pair';

/**
 * Cross-encoder input: the tokenizer's pair template over (query ids truncated to queryMaxLength,
 * passage ids truncated to maxLength), then *only_second* truncation to maxLength in all.
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

  build(query: number[], passage: number[], limits: LengthLimits, pairIndex: number, onOverflow?: QueryOverflowNotice): EncodedPair {
    const q = query.length > limits.queryMaxLength ? query.slice(0, limits.queryMaxLength) : query;
    let p = passage.length > limits.maxLength ? passage.slice(0, limits.maxLength) : passage;
    p = truncateSecond(p, q.length + this.template.specialCount, limits.maxLength, pairIndex, onOverflow);
    checkPositions(q.length + this.template.specialCount + p.length, limits, pairIndex);
    const { ids, typeIds } = this.template.apply(q, p);
    return this.withTypeIds ? { ids, typeIds } : { ids };
  }
}
