/**
 * Cross-encoder graphs (BERT and XLM-RoBERTa sequence classification with one label).
 *
 *   bert: input_ids, attention_mask, token_type_ids  int64 [batch, sequence]  →  logits float [batch, 1]
 *   xlmr: input_ids, attention_mask                  int64 [batch, sequence]  →  logits float [batch, 1]
 *
 * bert positions are 0..T-1 (right padding assumed); xlmr positions are cumsum(mask)·mask + 1, as
 * XLM-RoBERTa computes them from input ids (padding_idx 1), so they are padding-side independent.
 */
import { DataType } from '../onnx/onnx-proto';
import { FloatType, GraphBuilder } from '../onnx/graph-builder';
import { InitScales, ModelContext, outputCode, TransformerDims, WeightCache } from './layers';

/** bert and xlmr here; modernbert in modernbert.ts. */
export type EncoderStyle = 'bert' | 'xlmr' | 'modernbert';

export interface EncoderGraphOptions extends TransformerDims {
  style: EncoderStyle;
  layers: number;
  vocabSize: number;
  /** Usable positions; the xlmr table has maxPositions + 2 rows (padding_idx offset). */
  maxPositions: number;
  seed: number;
  floatType?: FloatType;
  outputDtype?: 'float32' | 'float16';
  quantize?: boolean;
  /** Transformer blocks as fused onnxruntime contrib operators (float32 only). */
  fused?: boolean;
  scales?: InitScales;
  /** Weight cache shared between graphs of one model. */
  weightCache?: WeightCache;
}

/** XLM-RoBERTa's padding_idx: position ids start at padding_idx + 1. */
export const XLMR_POSITION_OFFSET = 1;

export function buildEncoderGraph(o: EncoderGraphOptions): GraphBuilder {
  const b = new GraphBuilder({ name: `${o.style}_reranker`, floatType: o.floatType });
  const m = new ModelContext(b, o.seed, o.quantize ?? false, o.scales, o.weightCache);
  const H = o.hidden;
  const eps = o.style === 'bert' ? 1e-12 : 1e-5;
  const dims = ['batch', 'sequence'];
  const ids = b.input('input_ids', DataType.INT64, dims);
  const mask = b.input('attention_mask', DataType.INT64, dims);
  const prefix = o.style === 'bert' ? 'bert' : 'roberta';

  const sc = m.scales;
  const word = b.op('Gather', [m.param(`${prefix}.embeddings.word_embeddings.weight`, [o.vocabSize, H], sc.embedding), ids], { axis: 0 });
  let positions: string;
  let posRows: number;
  if (o.style === 'bert') {
    positions = m.arange(ids);
    posRows = o.maxPositions;
  } else {
    // cumsum over the mask counts real tokens; pads get padding_idx itself.
    const cs = b.op('CumSum', [mask, b.scalarInt64(1)]);
    positions = b.op('Add', [b.op('Mul', [cs, mask]), b.scalarInt64(XLMR_POSITION_OFFSET)]);
    posRows = o.maxPositions + XLMR_POSITION_OFFSET + 1;
  }
  const pos = b.op('Gather', [m.param(`${prefix}.embeddings.position_embeddings.weight`, [posRows, H], 0.5 * sc.embedding), positions], {
    axis: 0,
  });
  let emb = b.op('Add', [word, pos]);
  if (o.style === 'bert') {
    const tt = b.input('token_type_ids', DataType.INT64, dims);
    const ttEmb = m.param('bert.embeddings.token_type_embeddings.weight', [2, H], 0.5 * sc.embedding);
    emb = b.op('Add', [emb, b.op('Gather', [ttEmb, tt], { axis: 0 })]);
  } else {
    // XLM-R has a single token type: its embedding is a constant vector added everywhere.
    emb = b.op('Add', [emb, m.param('roberta.embeddings.token_type_embeddings.weight', [1, H], 0.5 * sc.embedding)]);
  }
  let x = m.layerNorm(emb, `${prefix}.embeddings.LayerNorm`, H, eps);

  if (o.fused) {
    if (o.quantize || (o.floatType ?? 'float32') !== 'float32') throw new Error('fused graphs are float32 only');
    const mask32 = b.op('Cast', [mask], { to: DataType.INT32 });
    for (let i = 0; i < o.layers; i++) x = m.fusedPostLnBlock(x, mask32, `${prefix}.encoder.layer.${i}`, o, eps);
  } else {
    const maskAdd = m.keyMask(mask);
    for (let i = 0; i < o.layers; i++) x = m.postLnBlock(x, maskAdd, `${prefix}.encoder.layer.${i}`, o, eps);
  }

  // First token ([CLS] / <s>) → dense + tanh → one logit.
  const cls = b.op('Gather', [x, b.scalarInt64(0)], { axis: 1 });
  const pooled = b.op('Tanh', [m.linear(cls, o.style === 'bert' ? 'bert.pooler.dense' : 'classifier.dense', H, H)]);
  const logits = m.linear(pooled, o.style === 'bert' ? 'classifier' : 'classifier.out_proj', H, 1, 2.5); // gain: score std across pairs ≈ 0.5–1
  b.output('logits', outputCode(o.outputDtype, b), ['batch', 1]);
  m.finish(logits, 'logits', o.outputDtype ?? b.floatType);
  return b;
}
