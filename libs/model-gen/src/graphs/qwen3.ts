/**
 * A Qwen3-shaped reranker (Qwen3-Reranker's layout): a causal LM with rotary positions from
 * position_ids (θ 1,000,000), RMSNorm, per-head q / k RMSNorm, a SwiGLU MLP, no biases, and input
 * and output embeddings tied. Inputs input_ids, attention_mask, position_ids int64 [batch, sequence];
 * one of three outputs:
 *
 *   logits  float [batch, sequence, vocab]  (default) the LM head at every position; the engine reads
 *                                          l_yes − l_no at the last real token with ids from the tokenizer
 *   scores  float [batch]                   l_yes − l_no at the last real token, as the export recipe writes it
 *   logits  float [batch, 1]                a sequence-classification conversion: one score row
 *                                          lm_head[yes] − lm_head[no], at the last real token
 */
import { DataType } from '../onnx/onnx-proto';
import { GraphBuilder } from '../onnx/graph-builder';
import { causalMask } from './decoder';
import { ModelContext, outputCode, TransformerDims, WeightOptions } from './layers';

export type Qwen3Output = 'logits' | 'scores' | 'classifier';

export interface Qwen3GraphOptions extends TransformerDims, WeightOptions {
  layers: number;
  vocabSize: number;
  seed: number;
  yesTokenId: number;
  noTokenId: number;
  output?: Qwen3Output;
}

const EPS = 1e-6;

export function buildQwen3Graph(o: Qwen3GraphOptions): GraphBuilder {
  const b = new GraphBuilder({ name: 'qwen3_reranker', floatType: o.floatType });
  const m = new ModelContext(b, o.seed, o.quantize ?? false, o.scales, o.weightCache);
  const H = o.hidden;
  const ids = b.input('input_ids', DataType.INT64, ['batch', 'sequence']);
  const mask = b.input('attention_mask', DataType.INT64, ['batch', 'sequence']);
  const positionIds = b.input('position_ids', DataType.INT64, ['batch', 'sequence']);
  const arange = m.arange(ids);

  // Rows of std 1/sqrt(H) so the tied head's logits have std ≈ 1; unscaled inputs, as Qwen3 (unlike Gemma).
  const embed = m.param('model.embed_tokens.weight', [o.vocabSize, H], m.scales.embedding / Math.sqrt(H));
  let x = b.op('Gather', [embed, ids], { axis: 0 });
  const rope = m.rotaryTables(positionIds, H / o.heads, 1000000);
  const maskAdd = causalMask(m, mask, arange);
  for (let i = 0; i < o.layers; i++) {
    const name = `model.layers.${i}`;
    x = b.op('Add', [
      x,
      m.rotaryAttention(m.rmsNorm(x, `${name}.input_layernorm`, H, EPS), maskAdd, `${name}.self_attn`, o, rope, { eps: EPS }),
    ]);
    x = b.op('Add', [x, m.gatedMlp(m.rmsNorm(x, `${name}.post_attention_layernorm`, H, EPS), `${name}.mlp`, o, 'silu')]);
  }
  x = m.rmsNorm(x, 'model.norm', H, EPS);

  const outType = o.outputDtype ?? b.floatType;
  const lmHead = b.op('Transpose', [embed], { perm: [1, 0] }); // [H, V]
  if ((o.output ?? 'logits') === 'logits') {
    b.output('logits', outputCode(outType, b), ['batch', 'sequence', o.vocabSize]);
    m.finish(b.op('MatMul', [x, lmHead]), 'logits', outType);
    return b;
  }
  const last = b.op('Unsqueeze', [b.op('ReduceMax', [b.op('Mul', [mask, arange])], { axes: [1], keepdims: 0 }), b.constInt64([1])]);
  const pooled = b.op('GatherND', [x, last], { batch_dims: 1 }); // [B, H]
  const row = (id: number) => b.op('Gather', [lmHead, b.constInt64([id])], { axis: 1 }); // [H, 1]
  const yesMinusNo = b.op('MatMul', [pooled, b.op('Sub', [row(o.yesTokenId), row(o.noTokenId)])]); // [B, 1]
  if (o.output === 'classifier') {
    b.output('logits', outputCode(outType, b), ['batch', 1]);
    m.finish(yesMinusNo, 'logits', outType);
  } else {
    b.output('scores', outputCode(outType, b), ['batch']);
    m.finish(b.op('Squeeze', [yesMinusNo, b.constInt64([1])]), 'scores', outType);
  }
  return b;
}
