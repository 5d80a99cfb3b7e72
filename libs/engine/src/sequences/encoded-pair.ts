import { RerankerArgumentError } from '../errors';

/** One pair as the model reads it, before padding. */
export interface EncodedPair {
  ids: Int32Array;
  /** Encoders whose template assigns segment ids. */
  typeIds?: Int32Array;
  /** Light-weight: length of `[bos] + query + sep`. */
  queryLength?: number;
  /** Light-weight: length of `sep + prompt`. */
  promptLength?: number;
}

/** Lengths that bound a pair's tokens, resolved per call. */
export interface LengthLimits {
  maxLength: number;
  queryMaxLength: number;
}

/**
 * The tokenizer's *only_second* truncation: drop tokens from the end of the second sequence until
 * `firstLength + second.length <= maxTotal`. Like Hugging Face, the second sequence must keep at
 * least one token; when it cannot, the query leaves no room and the call is refused (the reference
 * would log an error and feed an over-long sequence).
 */
export function truncateSecond(second: number[], firstLength: number, maxTotal: number, pairIndex: number): number[] {
  const excess = firstLength + second.length - maxTotal;
  if (excess <= 0) return second;
  if (second.length > excess) return second.slice(0, second.length - excess);
  throw new RerankerArgumentError(
    'maxLength',
    `pair ${pairIndex}: the query part takes ${firstLength} of the ${maxTotal} tokens allowed, leaving no room for the passage; ` +
      'raise maxLength or lower queryMaxLength',
  );
}
