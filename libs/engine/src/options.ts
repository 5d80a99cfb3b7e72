import { type Device, resolveDevices } from './devices';
import { RerankerArgumentError } from './errors';
import type { Family, RerankerOptions, ScoreOverrides } from './types';

/** Defaults of the LLM families (FlagEmbedding decoder_only/*.py). */
export const LLM_DEFAULT_PROMPT =
  "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.";
export const LIGHTWEIGHT_DEFAULT_PROMPT = 'Predict whether passage B contains an answer to query A.';
export const LLM_QUERY_INSTRUCTION = 'A: ';
export const LLM_PASSAGE_INSTRUCTION = 'B: ';
export const LLM_SEPARATOR = '\n';
export const COMPRESS_RATIOS = [1, 2, 4, 8] as const;

/**
 * Padded tokens per batch when not set. On CPU, small length-sorted batches (about 4 rows of a
 * realistic mix) run fastest: BENCHMARKS.md measures 512 as the best of 1 to 64 rows and 512 to
 * 2048 tokens on MiniLM- and base-size encoders. GPUs want wide batches.
 */
export function defaultMaxBatchTokens(devices: readonly Device[]): number {
  return devices.some((d) => d.kind === 'cuda') ? 65536 : 512;
}

export interface ResolvedOptions {
  useFp16: boolean;
  queryInstruction: string | null;
  queryInstructionFormat: string;
  passageInstruction: string | null;
  passageInstructionFormat: string;
  devices: Device[];
  batchSize: number;
  queryMaxLength: number | null;
  maxLength: number;
  normalize: boolean;
  cacheDir: string | null;
  prompt: string | null;
  cutoffLayers: number[] | null;
  compressLayers: number[] | null;
  compressRatio: number;
  maxBatchTokens: number;
  intraOpNumThreads: number;
  quantized: boolean;
  sessionOptions: Record<string, unknown>;
}

/** Per-call settings, after overrides and defaults. */
export interface CallSettings {
  queryInstruction: string | null;
  queryInstructionFormat: string;
  passageInstruction: string | null;
  passageInstructionFormat: string;
  batchSize: number;
  maxLength: number;
  queryMaxLength: number;
  normalize: boolean;
  prompt: string | null;
  cutoffLayers: number[] | null;
  compressLayers: number[] | null;
  compressRatio: number;
  maxBatchTokens: number;
}

const COMMON_KEYS = [
  'useFp16', 'queryInstructionForRerank', 'queryInstructionFormat', 'passageInstructionForRerank', 'passageInstructionFormat',
  'devices', 'batchSize', 'queryMaxLength', 'maxLength', 'normalize', 'trustRemoteCode', 'cacheDir',
  'maxBatchTokens', 'intraOpNumThreads', 'quantized', 'sessionOptions', 'revision', 'hubEndpoint', 'hubToken', 'offline', 'onWarning', 'onBatch',
];
const FAMILY_KEYS: Record<Family, string[]> = {
  encoder: [],
  llm: ['prompt'],
  layerwise: ['prompt', 'cutoffLayers'],
  lightweight: ['prompt', 'cutoffLayers', 'compressLayers', 'compressRatio'],
};
const CALL_KEYS = [
  'batchSize', 'queryMaxLength', 'maxLength', 'normalize', 'maxBatchTokens',
  'queryInstructionForRerank', 'queryInstructionFormat', 'passageInstructionForRerank', 'passageInstructionFormat',
];
const OVERRIDE_KEYS: Record<Family, string[]> = {
  encoder: CALL_KEYS,
  llm: [...CALL_KEYS, 'prompt'],
  layerwise: [...CALL_KEYS, 'prompt', 'cutoffLayers'],
  lightweight: [...CALL_KEYS, 'prompt', 'cutoffLayers', 'compressLayers', 'compressRatio'],
};

function checkKeys(given: object, allowed: string[], family: Family, what: string): void {
  for (const key of Object.keys(given)) {
    if ((given as Record<string, unknown>)[key] === undefined) continue;
    if (!allowed.includes(key)) {
      const elsewhere = Object.entries(FAMILY_KEYS).filter(([, keys]) => keys.includes(key)).map(([f]) => f);
      const hint = elsewhere.length ? `it applies to the ${elsewhere.join(' / ')} families only` : `known ${what}: ${allowed.join(', ')}`;
      throw new RerankerArgumentError(key, `not an option of the ${family} family (${hint})`);
    }
  }
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export function positiveInt(name: string, v: unknown): number {
  if (!isInt(v) || v < 1) throw new RerankerArgumentError(name, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}
function nonNegativeInt(name: string, v: unknown): number {
  if (!isInt(v) || v < 0) throw new RerankerArgumentError(name, `must be an integer >= 0, got ${JSON.stringify(v)}`);
  return v;
}
function bool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new RerankerArgumentError(name, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}
function optionalText(name: string, v: unknown): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') throw new RerankerArgumentError(name, `must be a string or null, got ${JSON.stringify(v)}`);
  return v;
}
function text(name: string, v: unknown): string {
  if (typeof v !== 'string') throw new RerankerArgumentError(name, `must be a string, got ${JSON.stringify(v)}`);
  return v;
}
function layerList(name: string, v: unknown): number[] | null {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => isInt(x) && x >= 0)) {
    throw new RerankerArgumentError(name, `must be a non-empty list of layer numbers, got ${JSON.stringify(v)}`);
  }
  return [...v];
}
function plainObject(name: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new RerankerArgumentError(name, `must be an object of onnxruntime session options, got ${JSON.stringify(v)}`);
  return v as Record<string, unknown>;
}
function compressRatio(v: unknown): number {
  if (!(COMPRESS_RATIOS as readonly unknown[]).includes(v)) throw new RerankerArgumentError('compressRatio', `must be 1, 2, 4 or 8, got ${JSON.stringify(v)}`);
  return v as number;
}

/** Validates constructor options and fills the reference's defaults. Throws on the first bad one. */
export function resolveOptions(family: Family, options: RerankerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new RerankerArgumentError('options', `must be an object, got ${JSON.stringify(options)}`);
  checkKeys(options, [...COMMON_KEYS, ...FAMILY_KEYS[family]], family, 'options');
  const llm = family !== 'encoder';
  const o = options;
  const devices = resolveDevices(o.devices);
  const maxLength = o.maxLength === undefined ? 512 : positiveInt('maxLength', o.maxLength);
  return {
    useFp16: o.useFp16 === undefined ? false : bool('useFp16', o.useFp16),
    queryInstruction: o.queryInstructionForRerank === undefined ? (llm ? LLM_QUERY_INSTRUCTION : null) : optionalText('queryInstructionForRerank', o.queryInstructionForRerank),
    queryInstructionFormat: o.queryInstructionFormat === undefined ? '{}{}' : text('queryInstructionFormat', o.queryInstructionFormat),
    passageInstruction: o.passageInstructionForRerank === undefined ? (llm ? LLM_PASSAGE_INSTRUCTION : null) : optionalText('passageInstructionForRerank', o.passageInstructionForRerank),
    passageInstructionFormat: o.passageInstructionFormat === undefined ? '{}{}' : text('passageInstructionFormat', o.passageInstructionFormat),
    devices,
    batchSize: o.batchSize === undefined ? 128 : positiveInt('batchSize', o.batchSize),
    queryMaxLength: o.queryMaxLength == null ? null : nonNegativeInt('queryMaxLength', o.queryMaxLength),
    maxLength,
    normalize: o.normalize === undefined ? false : bool('normalize', o.normalize),
    cacheDir: o.cacheDir == null ? null : text('cacheDir', o.cacheDir),
    prompt: o.prompt == null ? null : text('prompt', o.prompt),
    cutoffLayers: o.cutoffLayers == null ? null : layerList('cutoffLayers', o.cutoffLayers),
    compressLayers: o.compressLayers == null ? null : layerList('compressLayers', o.compressLayers),
    compressRatio: o.compressRatio === undefined ? 1 : compressRatio(o.compressRatio),
    maxBatchTokens: o.maxBatchTokens === undefined ? defaultMaxBatchTokens(devices) : positiveInt('maxBatchTokens', o.maxBatchTokens),
    intraOpNumThreads: o.intraOpNumThreads === undefined ? 0 : nonNegativeInt('intraOpNumThreads', o.intraOpNumThreads),
    quantized: o.quantized === undefined ? false : bool('quantized', o.quantized),
    sessionOptions: o.sessionOptions === undefined ? {} : plainObject('sessionOptions', o.sessionOptions),
  };
}

/** Applies per-call overrides, as the reference's keyword arguments to compute_score. */
export function resolveCall(family: Family, base: ResolvedOptions, overrides: ScoreOverrides = {}): CallSettings {
  if (overrides === null || typeof overrides !== 'object') throw new RerankerArgumentError('overrides', `must be an object, got ${JSON.stringify(overrides)}`);
  checkKeys(overrides, OVERRIDE_KEYS[family], family, 'per-call overrides');
  const o = overrides;
  const maxLength = o.maxLength === undefined ? base.maxLength : positiveInt('maxLength', o.maxLength);
  const queryMaxLength = o.queryMaxLength != null ? nonNegativeInt('queryMaxLength', o.queryMaxLength) : base.queryMaxLength ?? Math.floor((maxLength * 3) / 4);
  return {
    queryInstruction: o.queryInstructionForRerank === undefined ? base.queryInstruction : optionalText('queryInstructionForRerank', o.queryInstructionForRerank),
    queryInstructionFormat: o.queryInstructionFormat === undefined ? base.queryInstructionFormat : text('queryInstructionFormat', o.queryInstructionFormat),
    passageInstruction: o.passageInstructionForRerank === undefined ? base.passageInstruction : optionalText('passageInstructionForRerank', o.passageInstructionForRerank),
    passageInstructionFormat: o.passageInstructionFormat === undefined ? base.passageInstructionFormat : text('passageInstructionFormat', o.passageInstructionFormat),
    batchSize: o.batchSize === undefined ? base.batchSize : positiveInt('batchSize', o.batchSize),
    maxLength,
    queryMaxLength,
    normalize: o.normalize === undefined ? base.normalize : bool('normalize', o.normalize),
    prompt: o.prompt === undefined ? base.prompt : o.prompt === null ? null : text('prompt', o.prompt),
    cutoffLayers: o.cutoffLayers === undefined ? base.cutoffLayers : layerList('cutoffLayers', o.cutoffLayers),
    compressLayers: o.compressLayers === undefined ? base.compressLayers : layerList('compressLayers', o.compressLayers),
    compressRatio: o.compressRatio === undefined ? base.compressRatio : compressRatio(o.compressRatio),
    maxBatchTokens: o.maxBatchTokens === undefined ? base.maxBatchTokens : positiveInt('maxBatchTokens', o.maxBatchTokens),
  };
}
