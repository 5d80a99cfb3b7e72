import { LIGHTWEIGHT_DEFAULT_PROMPT, LLM_DEFAULT_PROMPT, LLM_SEPARATOR } from '../options';
import { decoderPrefix } from '../sequences/decoder-sequences';
import { TextTokenizer } from '../tokenization/text-tokenizer';
import type { Family } from '../types';
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
  decoderParts?: DecoderPartLengths;
}

/**
 * The position limit and, for the LLM families, the separator / default prompt / bos lengths,
 * read with the model's tokenizer (no ONNX session), exactly as the rerankers count them.
 */
export function readSequenceFacts(files: ModelFiles, family: Family): SequenceFacts {
  const facts: SequenceFacts = {};
  if (files.maxPositions !== undefined) facts.maxPositions = files.maxPositions;
  if (family === 'encoder') return facts;
  const tokenizer = new TextTokenizer(files);
  const prompt = files.reranker.prompt ?? (family === 'lightweight' ? LIGHTWEIGHT_DEFAULT_PROMPT : LLM_DEFAULT_PROMPT);
  facts.decoderParts = {
    prefix: decoderPrefix(family, tokenizer.bosId, tokenizer.padId).length,
    sep: tokenizer.encode(LLM_SEPARATOR).length,
    prompt: tokenizer.encode(prompt).length,
  };
  return facts;
}
