/**
 * Decoder-only reranker graphs (llm, layerwise, lightweight). Common inputs, int64 [batch, sequence]:
 * input_ids, attention_mask, position_ids (0, 1, 2, … over real tokens; the graph indexes learned
 * position embeddings by them, so left and right padding give identical rows).
 *
 *   llm          → scores float [batch]            yes-token logit at each row's last real token
 *                  (llmOutput 'logits' → logits float [batch, sequence, vocab], unpooled)
 *   layerwise    → scores float [batch, K]         column k: score head of layer scoreLayers[k]
 *   lightweight  → as layerwise, plus inputs query_lengths, prompt_lengths int64 [batch]
 *
 * Layer number n is the hidden state after n blocks (HF hidden_states[n]; 0 = embeddings).
 * Last real token: idx[b] = max_j(attention_mask[b, j] · j), right for left and right padding.
 */
import { DataType } from '../onnx/onnx-proto';
import { GraphBuilder } from '../onnx/graph-builder';
import { MASK_NEG, ModelContext, outputCode, TransformerDims, WeightOptions } from './layers';
import { buildSegments, compressTokens, lightweightInputs, Segments } from './lightweight';

export type DecoderFamily = 'llm' | 'layerwise' | 'lightweight';

export interface DecoderGraphOptions extends TransformerDims, WeightOptions {
  family: DecoderFamily;
  layers: number;
  vocabSize: number;
  maxPositions: number;
  seed: number;
  /** llm: the token whose logit is the score. */
  yesTokenId: number;
  /** llm only: 'scores' (default, pooled in the graph) or 'logits' [B, T, V]. */
  llmOutput?: 'scores' | 'logits';
  /** layerwise / lightweight: layer numbers with a score head, in output column order. */
  scoreLayers?: number[];
  /** lightweight: compression ratio (1 = none) and the layers after which it is applied. */
  compressRatio?: number;
  compressLayers?: number[];
}

const EPS = 1e-6;

export function buildDecoderGraph(o: DecoderGraphOptions): GraphBuilder {
  const b = new GraphBuilder({ name: `${o.family}_reranker`, floatType: o.floatType });
  const m = new ModelContext(b, o.seed, o.quantize ?? false, o.scales, o.weightCache);
  const H = o.hidden;
  const dims = ['batch', 'sequence'];
  const ids = b.input('input_ids', DataType.INT64, dims);
  const mask = b.input('attention_mask', DataType.INT64, dims);
  const positionIds = b.input('position_ids', DataType.INT64, dims);
  const arange = m.arange(ids);

  // Tied input/output embeddings, Gemma-style: inputs scaled by sqrt(H), rows of std 1/sqrt(H), so the
  // yes logit (final-normed state · embedding row) has std ≈ 1.
  const wte = m.param('model.embed_tokens.weight', [o.vocabSize, H], m.scales.embedding / Math.sqrt(H));
  const tok = b.op('Mul', [b.op('Gather', [wte, ids], { axis: 0 }), b.scalarFloat(Math.sqrt(H))]);
  const wpe = m.param('model.embed_positions.weight', [o.maxPositions, H], 0.5 * m.scales.embedding);
  let x = b.op('Add', [tok, b.op('Gather', [wpe, positionIds], { axis: 0 })]);

  let segments: Segments | null = null;
  if (o.family === 'lightweight') {
    const { queryLengths, promptLengths } = lightweightInputs(m);
    segments = buildSegments(m, mask, queryLengths, promptLengths, arange);
    const segEmb = m.param('model.embed_segments.weight', [3, H], 0.5 * m.scales.embedding);
    x = b.op('Add', [x, b.op('Gather', [segEmb, segments.ids], { axis: 0 })]);
  }

  const maskAdd = causalMask(m, mask, arange);
  const scoreLayers = o.family === 'llm' ? [o.layers] : (o.scoreLayers ?? range1(o.layers));
  for (const n of scoreLayers) {
    if (!Number.isInteger(n) || n < 0 || n > o.layers) throw new Error(`score layer ${n} outside 0..${o.layers}`);
  }
  const compressAt = new Set(o.family === 'lightweight' && (o.compressRatio ?? 1) > 1 ? (o.compressLayers ?? []) : []);
  const compress = (h: string): string => compressTokens(m, h, segments!.passage, arange, o.compressRatio ?? 1);

  // Blocks past the deepest score layer would be dead code: not emitted.
  const nBlocks = Math.max(...scoreLayers);
  const hidden: string[] = [compressAt.has(0) ? compress(x) : x];
  for (let i = 1; i <= nBlocks; i++) {
    let h = m.preLnBlock(hidden[i - 1], maskAdd, `model.layers.${i - 1}`, o, EPS);
    if (compressAt.has(i)) h = compress(h);
    hidden.push(h);
  }

  // Last real position per row, [B, 1].
  const last = b.op('Unsqueeze', [b.op('ReduceMax', [b.op('Mul', [mask, arange])], { axes: [1], keepdims: 0 }), b.constInt64([1])]);
  const pool = (h: string): string => b.op('GatherND', [h, last], { batch_dims: 1 }); // [B, H]

  const outType = o.outputDtype ?? b.floatType;
  if (o.family === 'llm') {
    const lmHead = b.op('Transpose', [wte], { perm: [1, 0] }); // [H, V], folded by ORT at load
    if (o.llmOutput === 'logits') {
      const logits = b.op('MatMul', [m.layerNorm(hidden[o.layers], 'model.norm', H, EPS), lmHead]);
      b.output('logits', outputCode(outType, b), ['batch', 'sequence', o.vocabSize]);
      m.finish(logits, 'logits', outType);
    } else {
      const logits = b.op('MatMul', [m.layerNorm(pool(hidden[o.layers]), 'model.norm', H, EPS), lmHead]); // [B, V]
      const yes = b.op('Gather', [logits, b.scalarInt64(o.yesTokenId)], { axis: 1 });
      b.output('scores', outputCode(outType, b), ['batch']);
      m.finish(yes, 'scores', outType);
    }
    return b;
  }

  const columns = scoreLayers.map((n) => {
    const normed = m.layerNorm(pool(hidden[n]), `score_heads.${n}.norm`, H, EPS);
    return m.linear(normed, `score_heads.${n}.linear`, H, 1, 1.5); // [B, 1]
  });
  const scores = columns.length === 1 ? columns[0] : b.op('Concat', columns, { axis: 1 });
  b.output('scores', outputCode(outType, b), ['batch', scoreLayers.length]);
  m.finish(scores, 'scores', outType);
  return b;
}

/** Additive mask [B, 1, T, T]: key j visible from query i when j <= i and j is a real token. */
export function causalMask(m: ModelContext, mask: string, arange: string): string {
  const b = m.b;
  const j = b.op('Unsqueeze', [arange, b.constInt64([0])]); // [1, T]
  const i = b.op('Unsqueeze', [arange, b.constInt64([1])]); // [T, 1]
  const causal = b.castFloat(b.op('LessOrEqual', [j, i])); // [T, T]
  const key = b.op('Unsqueeze', [b.castFloat(mask), b.constInt64([1, 2])]); // [B, 1, 1, T]
  const allowed = b.op('Mul', [causal, key]);
  return b.op('Mul', [b.op('Sub', [allowed, b.scalarFloat(1)]), b.scalarFloat(-MASK_NEG)]);
}

/** [1, 2, …, n]. */
export function range1(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
