import { DEFAULT_MAX_LENGTH, LIGHTWEIGHT_DEFAULT_PROMPT, LLM_DEFAULT_PROMPT, LLM_SEPARATOR, QWEN3_MAX_LENGTH } from '../options';
import { QWEN3_PROMPT_TEMPLATE } from '../prompt-template';
import { decoderPrefix } from '../sequences/decoder-sequences';
import { TextTokenizer } from '../tokenization/text-tokenizer';
import type { Family, Truncation } from '../types';
import type { ModelFiles } from './model-files';

/** Token counts of what the LLM families put around a pair with the model's default prompt. */
export interface DecoderPartLengths {
  /** 1 with a bos, else 0. */
  prefix: number;
  sep: number;
  prompt: number;
}

/** What a caller needs to check sequence lengths without loading the model's graph (the API). */
export interface SequenceFacts {
  maxPositions?: number;
  /** The maxLength a call gets when it names none: reranker.json's, else the family's. */
  maxLength: number;
  /** Encoders: how a pair is cut to maxLength. */
  truncation?: Truncation;
  decoderParts?: DecoderPartLengths;
  /** qwen3: tokens of the default prompt's prefix and suffix, which maxLength must exceed. */
  chatFrame?: number;
}

/**
 * The position limit, the default maxLength and, per family, what it puts around a pair (LLM families:
 * separator, default prompt, bos; qwen3: the chat prompt's prefix and suffix), read with the model's
 * tokenizer (no ONNX session), exactly as the rerankers count them.
 */
export function readSequenceFacts(files: ModelFiles, family: Family): SequenceFacts {
  const r = files.reranker;
  const facts: SequenceFacts = { maxLength: r.maxLength ?? (family === 'qwen3' ? QWEN3_MAX_LENGTH : DEFAULT_MAX_LENGTH) };
  if (files.maxPositions !== undefined) facts.maxPositions = files.maxPositions;
  if (family === 'encoder') {
    facts.truncation = r.truncation ?? 'only_second';
    return facts;
  }
  const tokenizer = new TextTokenizer(files);
  if (family === 'qwen3') {
    const template = r.promptTemplate ?? QWEN3_PROMPT_TEMPLATE;
    facts.chatFrame = tokenizer.encode(template.prefix).length + tokenizer.encode(template.suffix).length;
    return facts;
  }
  const prompt = r.prompt ?? (family === 'lightweight' ? LIGHTWEIGHT_DEFAULT_PROMPT : LLM_DEFAULT_PROMPT);
  facts.decoderParts = {
    prefix: decoderPrefix(family, tokenizer.bosId, tokenizer.padId).length,
    sep: tokenizer.encode(LLM_SEPARATOR).length,
    prompt: tokenizer.encode(prompt).length,
  };
  return facts;
}
