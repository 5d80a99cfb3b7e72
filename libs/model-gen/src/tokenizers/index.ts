import { bertTokenizer } from './bert';
import { bpeTokenizer } from './bpe';
import { TokenizerFiles } from './common';
import { TokenizerStyle } from './vocab';
import { xlmrTokenizer } from './xlmr';

export * from './vocab';
export * from './common';
export * from './corpus';
export { bertTokenizer } from './bert';
export { xlmrTokenizer } from './xlmr';
export { bpeTokenizer, byteLevel, BYTE_TO_CHAR, QWEN2_SPLIT, type BpeFlavor } from './bpe';
import type { BpeFlavor } from './bpe';

export interface TokenizerOptions {
  style: TokenizerStyle;
  vocabSize: number;
  /** model_max_length in tokenizer_config.json. */
  maxLength: number;
  /** bpe only (bert and xlmr pad right). */
  paddingSide?: 'left' | 'right';
  /** bpe only: whose special tokens, pre-tokenizer and template (default gemma). */
  flavor?: BpeFlavor;
}

/** Builds tokenizer.json / tokenizer_config.json contents for a style, with exactly `vocabSize` tokens. */
export function makeTokenizer(o: TokenizerOptions): TokenizerFiles {
  if (o.style === 'bert') return bertTokenizer(o.vocabSize, o.maxLength);
  if (o.style === 'xlmr') return xlmrTokenizer(o.vocabSize, o.maxLength);
  return bpeTokenizer({ vocabSize: o.vocabSize, maxLength: o.maxLength, paddingSide: o.paddingSide ?? 'left', flavor: o.flavor });
}
