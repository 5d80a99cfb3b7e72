/**
 * A ModernBERT-shaped cross-encoder (gte-reranker-modernbert-base's layout, one label):
 *
 *   input_ids, attention_mask  int64 [batch, sequence]  →  logits float [batch, 1]
 *
 * No token types; rotary positions counted from the left edge (right padding); every third layer
 * (0, 3, …) attends globally (rotary θ 160,000), the others within a sliding window of
 * `localWindow` tokens (|i − j| ≤ window / 2, θ 10,000); pre-LN blocks with a GELU-gated MLP, no
 * biases; the first block reads the embeddings' LayerNorm directly; mean pooling over real tokens,
 * then dense + GELU + LayerNorm and the classifier.
 */
import { DataType } from '../onnx/onnx-proto';
import { GraphBuilder } from '../onnx/graph-builder';
import { MASK_NEG, ModelContext, outputCode, TransformerDims, WeightOptions } from './layers';

export interface ModernBertGraphOptions extends TransformerDims, WeightOptions {
  layers: number;
  vocabSize: number;
  seed: number;
  /** Sliding window of the local layers (ModernBERT: 128). */
  localWindow: number;
}

export const MODERNBERT_GLOBAL_EVERY = 3;
const EPS = 1e-5;

export function buildModernBertGraph(o: ModernBertGraphOptions): GraphBuilder {
  const b = new GraphBuilder({ name: 'modernbert_reranker', floatType: o.floatType });
  const m = new ModelContext(b, o.seed, o.quantize ?? false, o.scales, o.weightCache);
  const H = o.hidden;
  const hd = H / o.heads;
  const ids = b.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const mask = b.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const arange = m.arange(ids);

  const emb = b.op('Gather', [m.param('model.embeddings.tok_embeddings.weight', [o.vocabSize, H], m.scales.embedding), ids], { axis: 0 });
  let x = m.layerNorm(emb, 'model.embeddings.norm', H, EPS);

  const positions = b.op('Unsqueeze', [arange, b.constInt64([0])]); // [1, T]
  const globalRope = m.rotaryTables(positions, hd, 160000);
  const localRope = m.rotaryTables(positions, hd, 10000);
  const keyMask = m.keyMask(mask); // [B, 1, 1, T]
  // Local layers: keys within window / 2 of the query, as ModernBERT's sliding_window_mask.
  const distance = b.op('Abs', [
    b.op('Sub', [b.op('Unsqueeze', [arange, b.constInt64([1])]), b.op('Unsqueeze', [arange, b.constInt64([0])])]),
  ]);
  const inWindow = b.castFloat(b.op('LessOrEqual', [distance, b.scalarInt64(Math.floor(o.localWindow / 2))])); // [T, T]
  const localMask = b.op('Add', [keyMask, b.op('Mul', [b.op('Sub', [inWindow, b.scalarFloat(1)]), b.scalarFloat(-MASK_NEG)])]);

  for (let i = 0; i < o.layers; i++) {
    const name = `model.layers.${i}`;
    const global = i % MODERNBERT_GLOBAL_EVERY === 0;
    const h = i === 0 ? x : m.layerNorm(x, `${name}.attn_norm`, H, EPS);
    x = b.op('Add', [x, m.rotaryAttention(h, global ? keyMask : localMask, `${name}.attn`, o, global ? globalRope : localRope)]);
    x = b.op('Add', [x, m.gatedMlp(m.layerNorm(x, `${name}.mlp_norm`, H, EPS), `${name}.mlp`, o, 'gelu')]);
  }
  x = m.layerNorm(x, 'model.final_norm', H, EPS);

  // Mean over real tokens.
  const weights = b.op('Unsqueeze', [b.castFloat(mask), b.constInt64([-1])]); // [B, T, 1]
  const summed = b.op('ReduceSum', [b.op('Mul', [x, weights]), b.constInt64([1])], { keepdims: 0 });
  const pooled = b.op('Div', [summed, b.op('ReduceSum', [weights, b.constInt64([1])], { keepdims: 0 })]);
  const head = m.layerNorm(m.gelu(m.linear(pooled, 'head.dense', H, H, m.scales.proj, false)), 'head.norm', H, EPS);
  const logits = m.linear(head, 'classifier', H, 1, 2.5);
  b.output('logits', outputCode(o.outputDtype, b), ['batch', 1]);
  m.finish(logits, 'logits', o.outputDtype ?? b.floatType);
  return b;
}
