/**
 * The light-weight reranker's extra machinery (a stand-in for bge-reranker-v2.5-gemma2-lightweight's
 * token compression), on right-padded rows with real length L = sum(attention_mask):
 *
 * - segments: query = positions < query_length, prompt = positions >= L - prompt_length, passage =
 *   between; a learned segment embedding is added to the token embeddings;
 * - compression at a layer with ratio r > 1: each passage position t takes the mean of the hidden states
 *   at t-r+1..t (fewer at the start of the row). Under right padding those are always real tokens, so a
 *   row's result does not depend on padding.
 */
import { DataType } from '../onnx/onnx-proto';
import { ModelContext } from './layers';

export const SEGMENT_QUERY = 0;
export const SEGMENT_PASSAGE = 1;
export const SEGMENT_PROMPT = 2;

export interface Segments {
  /** int64 [B, T]: 0 query, 1 passage, 2 prompt (pads count as prompt; they are never read). */
  ids: string;
  /** bool [B, T, 1]: passage positions. */
  passage: string;
}

export function buildSegments(m: ModelContext, mask: string, queryLengths: string, promptLengths: string, arange: string): Segments {
  const b = m.b;
  const pos = b.op('Unsqueeze', [arange, b.constInt64([0])]); // [1, T]
  const ql = b.op('Unsqueeze', [queryLengths, b.constInt64([1])]); // [B, 1]
  const len = b.op('ReduceSum', [mask, b.constInt64([1])], { keepdims: 1 }); // [B, 1]
  const promptStart = b.op('Sub', [len, b.op('Unsqueeze', [promptLengths, b.constInt64([1])])]);
  const isQuery = b.op('Less', [pos, ql]);
  const isPrompt = b.op('GreaterOrEqual', [pos, promptStart]);
  const ids = b.op('Where', [
    isQuery,
    b.scalarInt64(SEGMENT_QUERY),
    b.op('Where', [isPrompt, b.scalarInt64(SEGMENT_PROMPT), b.scalarInt64(SEGMENT_PASSAGE)]),
  ]);
  const passage = b.op('Unsqueeze', [b.op('Not', [b.op('Or', [isQuery, isPrompt])]), b.constInt64([2])]);
  return { ids, passage };
}

/** Replaces passage positions of x [B, T, H] by the mean over a backward window of `ratio` positions. */
export function compressTokens(m: ModelContext, x: string, passage: string, arange: string, ratio: number): string {
  if (ratio <= 1) return x;
  const b = m.b;
  let sum = x;
  for (let k = 1; k < ratio; k++) {
    // x shifted right by k along the sequence: pad k zeros in front, drop the last k.
    const padded = b.op('Pad', [x, b.constInt64([0, k, 0, 0, 0, 0])], { mode: 'constant' });
    const shifted = b.op('Slice', [padded, b.constInt64([0]), b.constInt64([-k]), b.constInt64([1])]);
    sum = b.op('Add', [sum, shifted]);
  }
  // Window size at t: min(ratio, t + 1).
  const count = b.op('Min', [b.castFloat(b.op('Add', [arange, b.scalarInt64(1)])), b.scalarFloat(ratio)]);
  const mean = b.op('Div', [sum, b.op('Unsqueeze', [count, b.constInt64([0, 2])])]);
  return b.op('Where', [passage, mean, x]);
}

/** The two extra graph inputs, int64 [batch]. */
export function lightweightInputs(m: ModelContext): { queryLengths: string; promptLengths: string } {
  return {
    queryLengths: m.b.input('query_lengths', DataType.INT64, ['batch']),
    promptLengths: m.b.input('prompt_lengths', DataType.INT64, ['batch']),
  };
}
