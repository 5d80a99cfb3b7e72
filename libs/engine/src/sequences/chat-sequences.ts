import { RerankerArgumentError } from '../errors';
import { checkLongest, type EncodedPair, type LengthLimits } from './encoded-pair';

/** Token ids of a chat prompt's untruncated parts, resolved per call. */
export interface ChatFrame {
  prefix: number[];
  suffix: number[];
}

/**
 * qwen3 input (Qwen3-Reranker's published usage): `prefix + middle + suffix`, the middle (the filled
 * format, tokenized as one text) cut at its end to `maxLength - len(prefix) - len(suffix)`, so a
 * sequence never exceeds maxLength.
 */
export class ChatSequences {
  checkLimits(limits: Pick<LengthLimits, 'maxLength' | 'maxPositions'>, frame: ChatFrame): void {
    const fixed = frame.prefix.length + frame.suffix.length;
    if (limits.maxLength <= fixed)
      throw new RerankerArgumentError(
        'maxLength',
        `${limits.maxLength} leaves no room for the query and document: the prompt's prefix and suffix take ${fixed} tokens; use at least ${fixed + 1}`,
      );
    checkLongest(limits.maxLength, { ...limits, queryMaxLength: limits.maxLength }, 'the whole prompt');
  }

  build(middle: number[], frame: ChatFrame, maxLength: number): EncodedPair {
    const room = maxLength - frame.prefix.length - frame.suffix.length;
    const kept = middle.length > room ? room : middle.length;
    const ids = new Int32Array(frame.prefix.length + kept + frame.suffix.length);
    ids.set(frame.prefix, 0);
    for (let i = 0; i < kept; i++) ids[frame.prefix.length + i] = middle[i];
    ids.set(frame.suffix, frame.prefix.length + kept);
    return { ids };
  }
}
