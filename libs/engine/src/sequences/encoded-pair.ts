import { RerankerArgumentError } from '../errors';
import { describeLimit } from '../model/position-limit';

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
  /** The model's position limit (config.json); undefined: not known, not checked. */
  maxPositions?: number;
}

/**
 * Told when a pair's query part leaves no room for the passage: like the reference, nothing is
 * truncated and the whole sequence is scored (its tokenizer only logs an error).
 */
export type QueryOverflowNotice = (pairIndex: number, firstLength: number, maxTotal: number) => void;

/**
 * The tokenizer's *only_second* truncation: drop tokens from the end of the second sequence until
 * `firstLength + second.length <= maxTotal`. Like Hugging Face, the second sequence must keep at
 * least one token; when it cannot, nothing is truncated (Hugging Face logs an error and returns the
 * ids unchanged): `second` comes back whole and `onOverflow` is told.
 */
export function truncateSecond(
  second: number[],
  firstLength: number,
  maxTotal: number,
  pairIndex: number,
  onOverflow?: QueryOverflowNotice,
): number[] {
  const excess = firstLength + second.length - maxTotal;
  if (excess <= 0) return second;
  if (second.length > excess) return second.slice(0, second.length - excess);
  onOverflow?.(pairIndex, firstLength, maxTotal);
  return second;
}

/** Refuses a sequence longer than the model's positions (only an untruncated one can be). */
export function checkPositions(length: number, limits: LengthLimits, pairIndex: number): void {
  if (limits.maxPositions === undefined || length <= limits.maxPositions) return;
  throw new RerankerArgumentError(
    'maxLength',
    `pair ${pairIndex}: its query part leaves no room for the passage within maxLength ${limits.maxLength}, so nothing is truncated (as the reference), ` +
      `and the whole sequence of ${length} tokens is beyond ${describeLimit(limits.maxPositions)}; lower queryMaxLength or shorten the query`,
  );
}

/** Refuses settings whose longest truncated sequence cannot fit the model's positions. */
export function checkLongest(longest: number, limits: LengthLimits, what: string): void {
  if (limits.maxPositions === undefined || longest <= limits.maxPositions) return;
  const room = limits.maxPositions - (longest - limits.maxLength);
  throw new RerankerArgumentError(
    'maxLength',
    `${limits.maxLength} makes sequences of up to ${longest} tokens (${what}), beyond ${describeLimit(limits.maxPositions)}; ` +
      (room >= 1 ? `use maxLength ${room} or less` : 'shorten the prompt or instructions'),
  );
}
