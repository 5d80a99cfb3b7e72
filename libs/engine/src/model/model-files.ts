import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ModelLoadError } from '../errors';
import type { PromptTemplate } from '../prompt-template';
import { type Family, TRUNCATIONS, type Truncation } from '../types';
import { parseFamily } from './family';
import { positionLimit } from './position-limit';

/** A light-weight graph exported with other compression settings. */
export interface CompressionVariant {
  file: string;
  compressRatio: number;
  compressLayers: number[];
}

/** `reranker.json`, all fields optional (docs/models.md). */
export interface RerankerJson {
  family?: Family;
  prompt?: string;
  yesToken?: string;
  /** qwen3: the token whose logit the yes logit is weighed against (default "no"). */
  noToken?: string;
  /** The model's default maxLength (CrossEncoder-style models and qwen3 read to their own maximum). */
  maxLength?: number;
  /** Encoders: how a pair is cut to maxLength (default only_second, FlagEmbedding's rule). */
  truncation?: Truncation;
  /** qwen3: the default instruction and chat prompt. */
  instruction?: string;
  promptTemplate?: PromptTemplate;
  layers?: number[];
  defaultCutoffLayers?: number[];
  compressRatio?: number;
  compressLayers?: number[];
  variants?: CompressionVariant[];
}

/** What a tokenizer reads from a model directory: tokenizer.json and the configs naming special tokens. */
export interface TokenizerFiles {
  tokenizerJson: string;
  /** special_tokens_map.json overlaid by tokenizer_config.json. */
  tokenizerConfig: Record<string, unknown>;
  config: Record<string, unknown>;
}

/** What the engine reads from a model directory in the Hugging Face layout. */
export interface ModelFiles extends TokenizerFiles {
  dir: string;
  /** The fp32 graph, `onnx/model.onnx` or `model.onnx`. */
  graph: string;
  fp16Graph?: string;
  quantizedGraph?: string;
  /** Longest sequence the position embeddings take (config.json; see positionLimit); undefined: unknown. */
  maxPositions?: number;
  reranker: RerankerJson;
}

/** Files a model directory must or may hold, for error messages and hub downloads. */
export const GRAPH_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];
export const FP16_CANDIDATES = ['onnx/model_fp16.onnx', 'model_fp16.onnx'];
export const QUANTIZED_CANDIDATES = ['onnx/model_quantized.onnx', 'onnx/model_int8.onnx', 'model_quantized.onnx', 'model_int8.onnx'];
export const METADATA_FILES = ['tokenizer.json', 'tokenizer_config.json', 'config.json', 'reranker.json', 'special_tokens_map.json'];

export function isModelDir(dir: string): boolean {
  return existsSync(dir) && statSync(dir).isDirectory() && GRAPH_CANDIDATES.some((f) => existsSync(join(dir, f)));
}

export function readModelFiles(dir: string): ModelFiles {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ModelLoadError(`model directory ${dir} does not exist`);
  const graph = firstExisting(dir, GRAPH_CANDIDATES);
  if (!graph)
    throw new ModelLoadError(
      `no ONNX graph in ${dir}: expected one of ${GRAPH_CANDIDATES.join(', ')} (see docs/models.md for the export recipe)`,
    );
  const tokenizer = readTokenizerFiles(dir);
  return {
    dir,
    graph,
    fp16Graph: firstExisting(dir, FP16_CANDIDATES),
    quantizedGraph: firstExisting(dir, QUANTIZED_CANDIDATES),
    ...tokenizer,
    maxPositions: positionLimit(tokenizer.config),
    reranker: parseRerankerJson(readJson(dir, 'reranker.json'), dir),
  };
}

/** The tokenizer's files of a model directory (a graph need not be there). */
export function readTokenizerFiles(dir: string): TokenizerFiles {
  const tokenizerJson = join(dir, 'tokenizer.json');
  if (!existsSync(tokenizerJson))
    throw new ModelLoadError(`no tokenizer.json in ${dir}: the engine needs the fast-tokenizer file that Hugging Face models ship`);
  const tokenizerConfig = { ...readJson(dir, 'special_tokens_map.json'), ...readJson(dir, 'tokenizer_config.json') };
  return { tokenizerJson, tokenizerConfig, config: readJson(dir, 'config.json') };
}

function firstExisting(dir: string, candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    const p = join(dir, c);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function readJson(dir: string, name: string): Record<string, unknown> {
  const p = join(dir, name);
  if (!existsSync(p)) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(p, 'utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
    return value as Record<string, unknown>;
  } catch (e) {
    throw new ModelLoadError(`${p} is not valid JSON: ${(e as Error).message}`);
  }
}

function parseRerankerJson(raw: Record<string, unknown>, dir: string): RerankerJson {
  const where = join(dir, 'reranker.json');
  const bad = (field: string, expected: string) =>
    new ModelLoadError(`${where}: "${field}" must be ${expected}, found ${JSON.stringify(raw[field])}`);
  const str = (f: string) => {
    if (raw[f] === undefined) return undefined;
    if (typeof raw[f] !== 'string') throw bad(f, 'a string');
    return raw[f];
  };
  const ints = (f: string, value: unknown = raw[f]) => {
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v >= 0)) throw bad(f, 'a list of layer numbers');
    return value as number[];
  };
  const out: RerankerJson = {};
  const family = str('family');
  if (family !== undefined) {
    out.family = parseFamily(family);
    if (!out.family) throw bad('family', '"encoder", "llm", "layerwise", "lightweight" or "qwen3"');
  }
  out.prompt = str('prompt');
  out.yesToken = str('yes_token');
  out.noToken = str('no_token');
  out.instruction = str('instruction');
  if (raw.max_length !== undefined) {
    if (!Number.isInteger(raw.max_length) || (raw.max_length as number) < 1) throw bad('max_length', 'a positive integer');
    out.maxLength = raw.max_length as number;
  }
  const truncation = str('truncation');
  if (truncation !== undefined) {
    if (!(TRUNCATIONS as readonly string[]).includes(truncation)) throw bad('truncation', TRUNCATIONS.map((t) => `"${t}"`).join(' or '));
    out.truncation = truncation as Truncation;
  }
  if (raw.prompt_template !== undefined) {
    const t = raw.prompt_template as Record<string, unknown> | null;
    if (!t || typeof t !== 'object' || !['prefix', 'format', 'suffix'].every((k) => typeof t[k] === 'string'))
      throw bad('prompt_template', 'an object {prefix, format, suffix} of strings');
    out.promptTemplate = { prefix: t.prefix as string, format: t.format as string, suffix: t.suffix as string };
  }
  out.layers = ints('layers');
  out.defaultCutoffLayers = ints('default_cutoff_layers');
  out.compressLayers = ints('compress_layers');
  if (raw.compress_ratio !== undefined) {
    if (!Number.isInteger(raw.compress_ratio)) throw bad('compress_ratio', 'an integer');
    out.compressRatio = raw.compress_ratio as number;
  }
  if (raw.variants !== undefined) {
    if (!Array.isArray(raw.variants)) throw bad('variants', 'a list of {file, compress_ratio, compress_layers}');
    out.variants = raw.variants.map((v: Record<string, unknown>) => {
      if (typeof v?.file !== 'string' || !Number.isInteger(v.compress_ratio))
        throw bad('variants', 'a list of {file, compress_ratio, compress_layers}');
      const file = join(dir, v.file);
      if (!existsSync(file)) throw new ModelLoadError(`${where}: variant file ${v.file} is missing from ${dir}`);
      return { file, compressRatio: v.compress_ratio as number, compressLayers: ints('variants', v.compress_layers ?? []) ?? [] };
    });
  }
  return out;
}
