/** config.json (Hugging Face-like) and reranker.json contents for a generated model. */
import { ModelDims } from './presets';
import { EncoderStyle, XLMR_POSITION_OFFSET } from './graphs/encoder';
import { MODERNBERT_GLOBAL_EVERY } from './graphs/modernbert';

/** The sliding window of generated ModernBERT-shaped models' local layers (ModernBERT's own is 128). */
export const MODERNBERT_LOCAL_WINDOW = 32;
import { SpecialTokenIds } from './tokenizers/common';

export type Family = 'encoder' | 'llm' | 'layerwise' | 'lightweight' | 'qwen3';

export interface ModelVariant {
  /** Path relative to the model directory, e.g. "onnx/model_cr2.onnx". */
  file: string;
  compress_ratio: number;
  compress_layers: number[];
}

const GENERATOR = { name: 'rerank-model-gen', version: '0.1.0' };

export function hfConfig(
  family: Family,
  style: EncoderStyle,
  d: ModelDims,
  special: SpecialTokenIds,
  seed: number,
  /** qwen3: a sequence-classification conversion. */
  qwen3Classifier = false,
): Record<string, unknown> {
  const common = {
    hidden_size: d.hidden,
    num_hidden_layers: d.layers,
    num_attention_heads: d.heads,
    intermediate_size: d.intermediate,
    vocab_size: d.vocabSize,
    torch_dtype: 'float32',
    generated_by: { ...GENERATOR, seed },
  };
  if (family === 'encoder' && style === 'modernbert') {
    return {
      architectures: ['ModernBertForSequenceClassification'],
      model_type: 'modernbert',
      ...common,
      hidden_activation: 'gelu',
      max_position_embeddings: d.maxPositions,
      global_attn_every_n_layers: MODERNBERT_GLOBAL_EVERY,
      local_attention: MODERNBERT_LOCAL_WINDOW,
      global_rope_theta: 160000,
      local_rope_theta: 10000,
      classifier_pooling: 'mean',
      norm_eps: 1e-5,
      pad_token_id: special.pad,
      cls_token_id: special.cls,
      sep_token_id: special.sep,
      num_labels: 1,
      id2label: { '0': 'LABEL_0' },
      label2id: { LABEL_0: 0 },
    };
  }
  if (family === 'qwen3') {
    return {
      architectures: [qwen3Classifier ? 'Qwen3ForSequenceClassification' : 'Qwen3ForCausalLM'],
      model_type: 'qwen3',
      ...common,
      head_dim: d.hidden / d.heads,
      num_key_value_heads: d.heads,
      hidden_act: 'silu',
      max_position_embeddings: d.maxPositions,
      rope_theta: 1000000,
      rms_norm_eps: 1e-6,
      tie_word_embeddings: true,
      pad_token_id: special.pad,
      eos_token_id: special.eos,
      ...(qwen3Classifier ? { num_labels: 1 } : {}),
    };
  }
  if (family === 'encoder') {
    const bert = style === 'bert';
    return {
      architectures: [bert ? 'BertForSequenceClassification' : 'XLMRobertaForSequenceClassification'],
      model_type: bert ? 'bert' : 'xlm-roberta',
      ...common,
      hidden_act: 'gelu',
      max_position_embeddings: bert ? d.maxPositions : d.maxPositions + XLMR_POSITION_OFFSET + 1,
      type_vocab_size: bert ? 2 : 1,
      layer_norm_eps: bert ? 1e-12 : 1e-5,
      pad_token_id: special.pad,
      ...(bert ? {} : { bos_token_id: special.bos, eos_token_id: special.eos }),
      num_labels: 1,
      id2label: { '0': 'LABEL_0' },
      label2id: { LABEL_0: 0 },
      position_embedding_type: 'absolute',
    };
  }
  const arch = (
    {
      llm: ['GemmaForCausalLM', 'gemma'],
      layerwise: ['LayerWiseMiniCPMForCausalLM', 'minicpm'],
      lightweight: ['Gemma2ForCausalLM', 'gemma2'],
    } as Record<string, [string, string]>
  )[family];
  return {
    architectures: [arch[0]],
    model_type: arch[1],
    ...common,
    head_dim: d.hidden / d.heads,
    num_key_value_heads: d.heads,
    hidden_act: 'gelu',
    max_position_embeddings: d.maxPositions,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: family === 'llm',
    pad_token_id: special.pad,
    bos_token_id: special.bos,
    eos_token_id: special.eos,
  };
}

export interface RerankerJsonInput {
  family: Family;
  /** Encoders: the truncation and default max_length of CrossEncoder-style models (ModernBERT). */
  truncation?: 'only_second' | 'longest_first';
  maxLength?: number;
  layers?: number[];
  defaultCutoffLayers?: number[];
  compressRatio?: number;
  compressLayers?: number[];
  variants?: ModelVariant[];
}

export function rerankerJson(r: RerankerJsonInput): Record<string, unknown> {
  if (r.family === 'encoder')
    return {
      family: 'encoder',
      ...(r.truncation ? { truncation: r.truncation } : {}),
      ...(r.maxLength ? { max_length: r.maxLength } : {}),
    };
  if (r.family === 'qwen3') return { family: 'qwen3', yes_token: 'yes', no_token: 'no', max_length: r.maxLength };
  if (r.family === 'llm') return { family: 'llm', yes_token: 'Yes' };
  const out: Record<string, unknown> = {
    family: r.family,
    yes_token: 'Yes',
    layers: r.layers,
    default_cutoff_layers: r.defaultCutoffLayers,
  };
  if (r.family === 'lightweight') {
    out.compress_ratio = r.compressRatio ?? 1;
    out.compress_layers = r.compressLayers;
    out.variants = r.variants ?? [];
  }
  return out;
}
