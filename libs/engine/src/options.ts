import {
  ENGINE_OPTION_NAMES,
  ENGINE_OPTIONS,
  type EngineOptionDecl,
  type EngineOptionName,
  optionDecl,
  optionNamesOf,
  type OptionsOf,
  type OverridesOf,
} from './contract/engine-options';
import { fieldProblem } from './contract/field';
import { type Device, resolveDevices } from './devices';
import { RerankerArgumentError } from './errors';
import { type PromptTemplate, QWEN3_DEFAULT_INSTRUCTION, QWEN3_PROMPT_TEMPLATE } from './prompt-template';
import type { Family, RerankerOptions, ScoreOverrides, Truncation } from './types';

/** Defaults of the LLM families (FlagEmbedding decoder_only/*.py). */
export const LLM_DEFAULT_PROMPT =
  "Given a query A and a passage B, determine whether the passage contains an answer to the query by providing a prediction of either 'Yes' or 'No'.";
export const LIGHTWEIGHT_DEFAULT_PROMPT = 'Predict whether passage B contains an answer to query A.';
export const LLM_QUERY_INSTRUCTION = 'A: ';
export const LLM_PASSAGE_INSTRUCTION = 'B: ';
export const LLM_SEPARATOR = '\n';
/** FlagEmbedding's max_length. */
export const DEFAULT_MAX_LENGTH = 512;
/** Qwen3-Reranker's published max_length. */
export const QWEN3_MAX_LENGTH = 8192;

/** Defaults a model sets for its calls (reranker.json), under the caller's options. */
export interface ModelCallDefaults {
  maxLength?: number;
  truncation?: Truncation;
  instruction?: string;
  promptTemplate?: PromptTemplate;
}

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
  /** null: the model's default. */
  maxLength: number | null;
  normalize: boolean;
  truncation: Truncation | null;
  instruction: string | null;
  promptTemplate: PromptTemplate | null;
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
  /** Infinity: no cap of its own (longest_first truncation, unless given). */
  queryMaxLength: number;
  normalize: boolean;
  truncation: Truncation;
  instruction: string;
  promptTemplate: PromptTemplate;
  prompt: string | null;
  cutoffLayers: number[] | null;
  compressLayers: number[] | null;
  compressRatio: number;
  maxBatchTokens: number;
}

/** The option's value, checked against its declaration (contract/engine-options.ts). */
function checked<K extends EngineOptionName>(name: K, value: unknown): NonNullable<OptionsOf[K]> | null {
  const decl = optionDecl(name);
  const problem = fieldProblem(decl.field, value);
  if (problem) throw new RerankerArgumentError(name, problem.message ?? `must be ${decl.field.expect}, got ${JSON.stringify(value)}`);
  return value as NonNullable<OptionsOf[K]> | null;
}

/** The declared default of an option with a constant default. */
function fallback<T>(name: EngineOptionName): T {
  return optionDecl(name).default?.value as T;
}

/** Unknown options, or options of other families, named with where they do apply. */
function checkKeys(given: object, family: Family, perCall: boolean): void {
  const allowed: readonly string[] = optionNamesOf(family, perCall);
  for (const key of Object.keys(given)) {
    if ((given as Record<string, unknown>)[key] === undefined) continue;
    if (!allowed.includes(key)) {
      const decl = (ENGINE_OPTIONS as Record<string, EngineOptionDecl>)[key];
      const elsewhere = decl?.families && !(perCall && decl.scope !== 'call') ? decl.families : [];
      const what = perCall ? 'per-call overrides' : 'options';
      const hint = elsewhere.length ? `it applies to the ${elsewhere.join(' / ')} families only` : `known ${what}: ${allowed.join(', ')}`;
      throw new RerankerArgumentError(key, `not an option of the ${family} family (${hint})`);
    }
  }
}

/** Validates constructor options and fills the reference's defaults. Throws on the first bad one. */
export function resolveOptions(family: Family, options: RerankerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object')
    throw new RerankerArgumentError('options', `must be an object, got ${JSON.stringify(options)}`);
  checkKeys(options, family, false);
  const llm = family === 'llm' || family === 'layerwise' || family === 'lightweight';
  const o = options;
  // Every given option against its declaration, in declaration order (the first bad one is reported).
  for (const name of ENGINE_OPTION_NAMES) if (name !== 'devices' && o[name] !== undefined) checked(name, o[name]);
  const devices = resolveDevices(o.devices);
  const or = <K extends EngineOptionName>(name: K) =>
    o[name] === undefined ? fallback<NonNullable<OptionsOf[K]>>(name) : (o[name] as NonNullable<OptionsOf[K]>);
  return {
    useFp16: or('useFp16'),
    queryInstruction: o.queryInstructionForRerank === undefined ? (llm ? LLM_QUERY_INSTRUCTION : null) : o.queryInstructionForRerank,
    queryInstructionFormat: or('queryInstructionFormat'),
    passageInstruction:
      o.passageInstructionForRerank === undefined ? (llm ? LLM_PASSAGE_INSTRUCTION : null) : o.passageInstructionForRerank,
    passageInstructionFormat: or('passageInstructionFormat'),
    devices,
    batchSize: or('batchSize'),
    queryMaxLength: o.queryMaxLength ?? null,
    maxLength: o.maxLength ?? null,
    // qwen3's score is the logit of "yes" against "no": its published usage returns the probability.
    normalize: o.normalize ?? family === 'qwen3',
    truncation: o.truncation ?? null,
    instruction: o.instruction ?? null,
    promptTemplate: o.promptTemplate ?? null,
    cacheDir: o.cacheDir ?? null,
    prompt: o.prompt ?? null,
    cutoffLayers: o.cutoffLayers ? [...o.cutoffLayers] : null,
    compressLayers: o.compressLayers ? [...o.compressLayers] : null,
    compressRatio: or('compressRatio'),
    maxBatchTokens: o.maxBatchTokens ?? defaultMaxBatchTokens(devices),
    intraOpNumThreads: or('intraOpNumThreads'),
    quantized: or('quantized'),
    sessionOptions: or('sessionOptions'),
  };
}

/**
 * Applies per-call overrides, as the reference's keyword arguments to compute_score, over the
 * constructor's options, over the model's defaults (`model`, from reranker.json once it is loaded).
 */
export function resolveCall(
  family: Family,
  base: ResolvedOptions,
  overrides: ScoreOverrides = {},
  model: ModelCallDefaults = {},
): CallSettings {
  if (overrides === null || typeof overrides !== 'object')
    throw new RerankerArgumentError('overrides', `must be an object, got ${JSON.stringify(overrides)}`);
  checkKeys(overrides, family, true);
  const o = overrides;
  for (const name of ENGINE_OPTION_NAMES) if (o[name as keyof OverridesOf] !== undefined) checked(name, o[name as keyof OverridesOf]);
  const maxLength = o.maxLength ?? base.maxLength ?? model.maxLength ?? (family === 'qwen3' ? QWEN3_MAX_LENGTH : DEFAULT_MAX_LENGTH);
  const truncation = o.truncation ?? base.truncation ?? model.truncation ?? 'only_second';
  return {
    queryInstruction: o.queryInstructionForRerank === undefined ? base.queryInstruction : o.queryInstructionForRerank,
    queryInstructionFormat: o.queryInstructionFormat ?? base.queryInstructionFormat,
    passageInstruction: o.passageInstructionForRerank === undefined ? base.passageInstruction : o.passageInstructionForRerank,
    passageInstructionFormat: o.passageInstructionFormat ?? base.passageInstructionFormat,
    batchSize: o.batchSize ?? base.batchSize,
    maxLength,
    // null per call: the constructor's, else 3/4 of max length (FlagEmbedding's rule); longest_first
    // truncation (CrossEncoder's) cuts the longer text first and caps the query only when asked.
    queryMaxLength:
      o.queryMaxLength ??
      base.queryMaxLength ??
      (truncation === 'longest_first' ? Number.POSITIVE_INFINITY : Math.floor((maxLength * 3) / 4)),
    normalize: o.normalize ?? base.normalize,
    truncation,
    // null: the default (Qwen3-Reranker's own code turns a missing instruction into its default).
    instruction: o.instruction ?? base.instruction ?? model.instruction ?? QWEN3_DEFAULT_INSTRUCTION,
    promptTemplate: o.promptTemplate ?? base.promptTemplate ?? model.promptTemplate ?? QWEN3_PROMPT_TEMPLATE,
    prompt: o.prompt === undefined ? base.prompt : o.prompt,
    cutoffLayers: o.cutoffLayers === undefined ? base.cutoffLayers : o.cutoffLayers && [...o.cutoffLayers],
    compressLayers: o.compressLayers === undefined ? base.compressLayers : o.compressLayers && [...o.compressLayers],
    compressRatio: o.compressRatio ?? base.compressRatio,
    maxBatchTokens: o.maxBatchTokens ?? base.maxBatchTokens,
  };
}
