import { RerankerArgumentError } from '../errors';
import type { Family } from '../types';
import {
  checkLongest,
  checkPositions,
  type EncodedPair,
  type LengthLimits,
  type QueryOverflowNotice,
  truncateSecond,
} from './encoded-pair';

/** Token ids of the parts the LLM families put around a pair, resolved per call. */
export interface DecoderParts {
  /** `[bos]`, or nothing when the family's bos rule says so. */
  prefix: number[];
  sep: number[];
  prompt: number[];
}

/**
 * `[bos]`, or nothing: as the reference, the llm family puts bos first only when it differs from the
 * pad token; the layer-wise and light-weight families always do.
 */
export function decoderPrefix(family: Family, bosId: number | undefined, padId: number): number[] {
  return bosId !== undefined && (family !== 'llm' || bosId !== padId) ? [bosId] : [];
}

/**
 * LLM input: `prefix + query` as the first part, `sep + passage` as the second, truncated
 * *only_second* to `maxLength + len(sep) + len(prompt)`, then `sep + prompt` appended.
 */
export class DecoderSequences {
  checkLimits(limits: LengthLimits, parts?: DecoderParts): void {
    if (limits.maxLength < 1)
      throw new RerankerArgumentError('maxLength', `${limits.maxLength} leaves no room for the passage; use at least 1`);
    if (parts)
      checkLongest(
        longestDecoderSequence(limits, { prefix: parts.prefix.length, sep: parts.sep.length, prompt: parts.prompt.length }),
        limits,
        'maxLength plus separator and prompt, which the reference adds twice',
      );
  }

  build(
    query: number[],
    passage: number[],
    parts: DecoderParts,
    limits: LengthLimits,
    pairIndex: number,
    onOverflow?: QueryOverflowNotice,
  ): EncodedPair {
    const q = query.length > limits.queryMaxLength ? query.slice(0, limits.queryMaxLength) : query;
    const p = passage.length > limits.maxLength ? passage.slice(0, limits.maxLength) : passage;
    const firstLength = parts.prefix.length + q.length;
    const second = truncateSecond(
      [...parts.sep, ...p],
      firstLength,
      limits.maxLength + parts.sep.length + parts.prompt.length,
      pairIndex,
      onOverflow,
    );
    const length = firstLength + second.length + parts.sep.length + parts.prompt.length;
    checkPositions(length, limits, pairIndex);
    const ids = new Int32Array(length);
    let k = 0;
    for (const part of [parts.prefix, q, second, parts.sep, parts.prompt]) {
      ids.set(part, k);
      k += part.length;
    }
    return {
      ids,
      queryLength: firstLength + parts.sep.length,
      promptLength: parts.sep.length + parts.prompt.length,
    };
  }
}

/**
 * The longest sequence truncation makes for these settings when a query leaves room for its passage:
 * first + second within `maxLength + sep + prompt` (and second at most `sep + maxLength`), then
 * `sep + prompt` again.
 */
export function longestDecoderSequence(
  limits: Pick<LengthLimits, 'maxLength' | 'queryMaxLength'>,
  parts: { prefix: number; sep: number; prompt: number },
): number {
  const extra = parts.sep + parts.prompt;
  const firstAndSecond = Math.min(limits.maxLength + extra, parts.prefix + limits.queryMaxLength + parts.sep + limits.maxLength);
  return firstAndSecond + extra;
}
