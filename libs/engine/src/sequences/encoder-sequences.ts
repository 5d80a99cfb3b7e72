import { RerankerArgumentError } from '../errors';
import type { PairTemplate } from '../tokenization/text-tokenizer';
import { type EncodedPair, type LengthLimits, truncateSecond } from './encoded-pair';

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
  }

  build(query: number[], passage: number[], limits: LengthLimits, pairIndex: number): EncodedPair {
    const q = query.length > limits.queryMaxLength ? query.slice(0, limits.queryMaxLength) : query;
    let p = passage.length > limits.maxLength ? passage.slice(0, limits.maxLength) : passage;
    p = truncateSecond(p, q.length + this.template.specialCount, limits.maxLength, pairIndex);
    const { ids, typeIds } = this.template.apply(q, p);
    return this.withTypeIds ? { ids, typeIds } : { ids };
  }
}
