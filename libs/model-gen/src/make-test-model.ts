/**
 * makeTestModel: writes a complete model directory in the Hugging Face layout —
 *   onnx/model.onnx (+ model_fp16.onnx, model_quantized.onnx, model_cr{2,4,8}.onnx as asked),
 *   tokenizer.json, tokenizer_config.json, special_tokens_map.json, config.json, reranker.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphBuilder } from './onnx/graph-builder';
import { buildEncoderGraph, EncoderStyle } from './graphs/encoder';
import { buildDecoderGraph, range1 } from './graphs/decoder';
import { buildModernBertGraph } from './graphs/modernbert';
import { buildQwen3Graph, type Qwen3Output } from './graphs/qwen3';
import { DEFAULT_SCALES, InitScales } from './graphs/layers';
import { Family, hfConfig, MODERNBERT_LOCAL_WINDOW, ModelVariant, rerankerJson } from './hf-config';
import { ModelDims, PresetName, PRESETS } from './presets';
import { makeTokenizer } from './tokenizers';
import { SpecialTokenIds } from './tokenizers/common';
import { coreWordId } from './tokenizers/vocab';

/**
 * Positions of generated decoders at least: the LLM layout adds separator and prompt twice beyond
 * maxLength (512 + 2 × 36 tokens with the default prompt), so a 512-position table would refuse the
 * families' default settings. Extra rows leave the first ones (and so every score) unchanged.
 */
export const DECODER_MIN_POSITIONS = 1024;
/** ModernBERT's positions (gte-reranker-modernbert-base reads 8,192 tokens). */
export const MODERNBERT_POSITIONS = 8192;
/** Qwen3's max_position_embeddings; Qwen3-Reranker reads 8,192 tokens by default. */
export const QWEN3_POSITIONS = 40960;
export const QWEN3_MAX_LENGTH = 8192;

export interface MakeTestModelOptions extends Partial<ModelDims> {
  family: Family;
  outDir: string;
  /** Base dimensions (default 'tiny'); explicit layers/hidden/… override it. */
  preset?: PresetName;
  /** Encoder family only (default 'bert'; 'modernbert': rotary positions, global and local attention, no token types, longest_first truncation). */
  encoderStyle?: EncoderStyle;
  /** qwen3 only: 'logits' [B, T, V] (default), pooled 'scores' [B] (l_yes − l_no), or a sequence-classification 'classifier' [B, 1]. */
  qwen3Output?: Qwen3Output;
  /** Weight seed (default 1). Same seed and options → byte-identical files. */
  seed?: number;
  /** llm only: 'scores' [B] (default) or unpooled 'logits' [B, T, V] (small vocabularies). */
  llmOutput?: 'scores' | 'logits';
  /** layerwise / lightweight: layers with a score head, in column order (default 1..layers). */
  scoreLayers?: number[];
  /** layerwise / lightweight (default: the last of scoreLayers). */
  defaultCutoffLayers?: number[];
  /** lightweight: layers after which tokens are compressed (default [max(1, floor(layers / 2))]). */
  compressLayers?: number[];
  /** lightweight: ratios of the variant graphs (default [2, 4, 8]; [] for none). */
  variantRatios?: number[];
  /** Also write onnx/model_fp16.onnx (weights and compute in float16, float16 output). */
  fp16?: boolean;
  /** Also write onnx/model_quantized.onnx (dynamic int8 MatMuls). */
  quantized?: boolean;
  /**
   * Encoder only: write the transformer blocks of onnx/model.onnx as onnxruntime's fused contrib
   * operators (Attention, SkipLayerNormalization, BiasGelu), the graph its transformer optimizer
   * makes of an export. Same weights, same scores up to float rounding.
   */
  fused?: boolean;
  /** Output dtype of onnx/model.onnx (default float32; float16 adds a final Cast). */
  outputDtype?: 'float32' | 'float16';
  /** tokenizer_config padding_side for decoder families (default left for llm/layerwise, right for lightweight). */
  paddingSide?: 'left' | 'right';
  /** Weight-scale overrides. */
  scales?: Partial<InitScales>;
}

export interface TestModelInfo {
  dir: string;
  family: Family;
  encoderStyle?: EncoderStyle;
  seed: number;
  dims: ModelDims;
  /** Absolute paths of what was written. */
  files: {
    model: string;
    fp16?: string;
    quantized?: string;
    /** lightweight variants; `file` is relative to `dir`. */
    variants: (ModelVariant & { path: string })[];
    tokenizer: string;
    tokenizerConfig: string;
    config: string;
    reranker: string;
  };
  /** Graph input names of onnx/model.onnx, in order, and its output name. */
  inputNames: string[];
  outputName: 'logits' | 'scores';
  /** Special token ids, plus for decoders `yes` ("Yes"; qwen3: "yes") and `newline` ("\n", the separator), for qwen3 `no`. */
  special: SpecialTokenIds & { yes?: number; no?: number; newline?: number };
  scoreLayers?: number[];
  defaultCutoffLayers?: number[];
  compressRatio?: number;
  compressLayers?: number[];
  parameterCount: number;
  /** Size of onnx/model.onnx. */
  modelBytes: number;
  elapsedMs: number;
}

// eslint-disable-next-line @typescript-eslint/require-await -- async so that a throw reaches callers as a rejection
export async function makeTestModel(o: MakeTestModelOptions): Promise<TestModelInfo> {
  const start = Date.now();
  const base = PRESETS[o.preset ?? 'tiny'];
  const dims: ModelDims = {
    layers: o.layers ?? base.layers,
    hidden: o.hidden ?? base.hidden,
    heads: o.heads ?? base.heads,
    intermediate: o.intermediate ?? base.intermediate,
    vocabSize: o.vocabSize ?? base.vocabSize,
    maxPositions: o.maxPositions ?? defaultPositions(o, base.maxPositions),
  };
  if (dims.hidden % dims.heads !== 0) throw new Error(`hidden ${dims.hidden} is not a multiple of heads ${dims.heads}`);
  const seed = o.seed ?? 1;
  const scales: InitScales = { ...DEFAULT_SCALES, ...o.scales };
  const style: EncoderStyle = o.encoderStyle ?? 'bert';
  const decoder = o.family !== 'encoder';
  const qwen3 = o.family === 'qwen3';
  const modernbert = o.family === 'encoder' && style === 'modernbert';

  const paddingSide = o.paddingSide ?? (o.family === 'lightweight' ? 'right' : 'left');
  const tok = makeTokenizer({
    style: decoder || modernbert ? 'bpe' : (style as 'bert' | 'xlmr'),
    flavor: qwen3 ? 'qwen' : modernbert ? 'modernbert' : 'gemma',
    vocabSize: dims.vocabSize,
    maxLength: qwen3 ? QWEN3_MAX_LENGTH : dims.maxPositions,
    paddingSide,
  });
  const special: TestModelInfo['special'] = { ...tok.special };
  if (decoder) {
    // Qwen3-Reranker answers "yes" / "no" (bare vocabulary entries); FlagEmbedding's LLMs "Yes".
    special.yes = coreWordId('bpe', qwen3 ? 'yes' : 'Yes', false);
    if (qwen3) special.no = coreWordId('bpe', 'no', false);
    special.newline = tok.vocab.get('\u010a'); // byte-level "\n"
  }

  const scoreLayers = o.family === 'layerwise' || o.family === 'lightweight' ? (o.scoreLayers ?? range1(dims.layers)) : undefined;
  const defaultCutoffLayers = scoreLayers ? (o.defaultCutoffLayers ?? [scoreLayers[scoreLayers.length - 1]]) : undefined;
  const light = o.family === 'lightweight';
  const compressLayers = light ? (o.compressLayers ?? [Math.max(1, Math.floor(dims.layers / 2))]) : undefined;
  for (const n of [...(scoreLayers ?? []), ...(compressLayers ?? [])]) {
    if (!Number.isInteger(n) || n < 0 || n > dims.layers) throw new Error(`layer ${n} outside 0..${dims.layers}`);
  }
  const offered = new Set(scoreLayers);
  if (defaultCutoffLayers?.some((n) => !offered.has(n))) {
    throw new Error(
      `defaultCutoffLayers ${JSON.stringify(defaultCutoffLayers)} must be a subset of scoreLayers ${JSON.stringify(scoreLayers)}`,
    );
  }

  const weightCache = new Map<string, Float32Array>();
  const graph = (extra: {
    floatType?: 'float32' | 'float16';
    quantize?: boolean;
    fused?: boolean;
    outputDtype?: 'float32' | 'float16';
    compressRatio?: number;
  }): GraphBuilder =>
    qwen3
      ? buildQwen3Graph({
          ...dims,
          seed,
          scales,
          weightCache,
          yesTokenId: special.yes!,
          noTokenId: special.no!,
          output: o.qwen3Output,
          ...extra,
        })
      : modernbert
        ? buildModernBertGraph({ ...dims, seed, scales, weightCache, localWindow: MODERNBERT_LOCAL_WINDOW, ...extra })
        : decoder
          ? buildDecoderGraph({
              ...dims,
              family: o.family as 'llm' | 'layerwise' | 'lightweight',
              seed,
              scales,
              yesTokenId: special.yes!,
              llmOutput: o.llmOutput,
              scoreLayers,
              compressLayers,
              weightCache,
              ...extra,
            })
          : buildEncoderGraph({ ...dims, style, seed, scales, weightCache, ...extra });

  const dir = o.outDir;
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  const writeJson = (name: string, value: unknown, indent = 2): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(value, null, indent) + '\n');
    return path;
  };

  if (o.fused && (decoder || modernbert)) throw new Error('fused: only the encoder family (BERT and XLM-R styles) has a fused graph');
  const main = graph({ outputDtype: o.outputDtype, compressRatio: 1, ...(o.fused ? { fused: true } : {}) });
  const modelPath = join(dir, 'onnx', 'model.onnx');
  const modelBytes = main.writeTo(modelPath);
  const files: TestModelInfo['files'] = {
    model: modelPath,
    variants: [],
    tokenizer: '',
    tokenizerConfig: '',
    config: '',
    reranker: '',
  };
  if (o.fp16) {
    files.fp16 = join(dir, 'onnx', 'model_fp16.onnx');
    graph({ floatType: 'float16', compressRatio: 1 }).writeTo(files.fp16);
  }
  if (o.quantized) {
    files.quantized = join(dir, 'onnx', 'model_quantized.onnx');
    graph({ quantize: true, compressRatio: 1 }).writeTo(files.quantized);
  }
  if (light) {
    for (const r of o.variantRatios ?? [2, 4, 8]) {
      const file = `onnx/model_cr${r}.onnx`;
      const path = join(dir, file);
      graph({ compressRatio: r, outputDtype: o.outputDtype }).writeTo(path);
      files.variants.push({ file, compress_ratio: r, compress_layers: compressLayers!, path });
    }
  }

  files.tokenizer = writeJson('tokenizer.json', tok.tokenizer, 0);
  files.tokenizerConfig = writeJson('tokenizer_config.json', tok.tokenizerConfig);
  writeJson('special_tokens_map.json', specialTokensMap(tok.tokenizerConfig));
  files.config = writeJson('config.json', hfConfig(o.family, style, dims, tok.special, seed, o.qwen3Output === 'classifier'));
  files.reranker = writeJson(
    'reranker.json',
    rerankerJson({
      family: o.family,
      ...(modernbert ? { truncation: 'longest_first' as const, maxLength: dims.maxPositions } : {}),
      ...(qwen3 ? { maxLength: QWEN3_MAX_LENGTH } : {}),
      layers: scoreLayers,
      defaultCutoffLayers,
      compressRatio: 1,
      compressLayers,
      variants: files.variants.map(({ file, compress_ratio, compress_layers }) => ({ file, compress_ratio, compress_layers })),
    }),
  );

  const inputNames = decoder ? ['input_ids', 'attention_mask', 'position_ids'] : ['input_ids', 'attention_mask'];
  if (!decoder && style === 'bert') inputNames.push('token_type_ids');
  const qwen3Output = o.qwen3Output ?? 'logits';
  if (light) inputNames.push('query_lengths', 'prompt_lengths');
  return {
    dir,
    family: o.family,
    encoderStyle: decoder ? undefined : style,
    seed,
    dims,
    files,
    inputNames,
    outputName:
      o.family === 'encoder' || (o.family === 'llm' && o.llmOutput === 'logits') || (qwen3 && qwen3Output !== 'scores')
        ? 'logits'
        : 'scores',
    special,
    scoreLayers,
    defaultCutoffLayers,
    compressRatio: light ? 1 : undefined,
    compressLayers,
    parameterCount: main.parameters,
    modelBytes,
    elapsedMs: Date.now() - start,
  };
}

/** Positions when not given: the preset's, at least DECODER_MIN_POSITIONS for decoders, ModernBERT's and Qwen3's own. */
function defaultPositions(o: MakeTestModelOptions, preset: number): number {
  if (o.family === 'qwen3') return QWEN3_POSITIONS;
  if (o.family === 'encoder') return o.encoderStyle === 'modernbert' ? MODERNBERT_POSITIONS : preset;
  return Math.max(preset, DECODER_MIN_POSITIONS);
}

function specialTokensMap(cfg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    if (typeof cfg[k] === 'string') out[k] = cfg[k];
  }
  return out;
}
