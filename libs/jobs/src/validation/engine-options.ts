/**
 * Engine options as the API takes them (snake_case fields of the request body), checked before
 * anything is queued so a bad option is a 400 and never a failed job. The checks mirror the
 * engine's own (RerankerArgumentError) and instruction formats are tried with the engine's formatter.
 */
import { COMPRESS_RATIOS, type Family, formatInstruction, longestDecoderSequence, RerankerArgumentError, type ScoreOverrides } from '@rerank/engine';
import { invalid } from '../errors';
import { describe, isInt, type JsonObject } from './common';
import type { KnownModel } from './documents';

type Check = (value: unknown, field: string) => unknown;

interface EngineOptionSpec {
  field: string;
  engine: keyof ScoreOverrides;
  /** Families the option applies to; undefined: all. */
  families?: readonly Family[];
  check: Check;
  description: string;
}

const LLM_FAMILIES: readonly Family[] = ['llm', 'layerwise', 'lightweight'];
const LAYER_FAMILIES: readonly Family[] = ['layerwise', 'lightweight'];

const bool: Check = (v, f) => {
  if (typeof v !== 'boolean') throw invalid(f, `expected true or false, got ${describe(v)}`);
  return v;
};
const int =
  (min: number, max: number, nullable = false): Check =>
  (v, f) => {
    if (v === null && nullable) return null;
    if (!isInt(v) || v < min || v > max) throw invalid(f, `expected an integer from ${min} to ${max}${nullable ? ' or null' : ''}, got ${describe(v)}`);
    return v;
  };
const text =
  (nullable: boolean, max = 10000): Check =>
  (v, f) => {
    if (v === null && nullable) return null;
    if (typeof v !== 'string') throw invalid(f, `expected a string${nullable ? ' or null' : ''}, got ${describe(v)}`);
    if (v.length > max) throw invalid(f, `at most ${max} characters, got ${v.length}`);
    return v;
  };
const format: Check = (v, f) => {
  const s = text(false, 1000)(v, f) as string;
  try {
    formatInstruction(s, 'instruction', 'text', f);
  } catch (e) {
    if (e instanceof RerankerArgumentError) throw invalid(f, e.message.slice(f.length + 2));
    throw e;
  }
  return s;
};
const layers: Check = (v, f) => {
  if (v === null) return null;
  if (!Array.isArray(v) || v.length === 0 || v.length > 256 || !v.every((x) => isInt(x) && x >= 0 && x <= 1000)) {
    throw invalid(f, `expected a non-empty list of layer numbers (integers >= 0), got ${describe(v)}`);
  }
  return [...(v as number[])];
};
const ratio: Check = (v, f) => {
  if (!(COMPRESS_RATIOS as readonly unknown[]).includes(v)) throw invalid(f, `expected one of ${COMPRESS_RATIOS.join(', ')}, got ${describe(v)}`);
  return v;
};

export const ENGINE_OPTIONS: readonly EngineOptionSpec[] = [
  { field: 'normalize', engine: 'normalize', check: bool, description: 'sigmoid of each score (0..1)' },
  { field: 'max_length', engine: 'maxLength', check: int(16, 131072), description: 'tokens of query + document (at least 16: room for any pair template and some text)' },
  { field: 'query_max_length', engine: 'queryMaxLength', check: int(0, 131072, true), description: 'tokens of the query (default 3/4 of max_length)' },
  { field: 'batch_size', engine: 'batchSize', check: int(1, 4096), description: 'pairs per model batch' },
  { field: 'max_batch_tokens', engine: 'maxBatchTokens', check: int(1, 16777216), description: 'padded tokens per model batch' },
  { field: 'query_instruction_for_rerank', engine: 'queryInstructionForRerank', check: text(true), description: 'instruction put before each query' },
  { field: 'query_instruction_format', engine: 'queryInstructionFormat', check: format, description: 'format of instruction and query, default "{}{}"' },
  { field: 'passage_instruction_for_rerank', engine: 'passageInstructionForRerank', check: text(true), description: 'instruction put before each document' },
  { field: 'passage_instruction_format', engine: 'passageInstructionFormat', check: format, description: 'format of instruction and document, default "{}{}"' },
  { field: 'prompt', engine: 'prompt', families: LLM_FAMILIES, check: text(true), description: 'LLM families: the prompt after the pair' },
  { field: 'cutoff_layers', engine: 'cutoffLayers', families: LAYER_FAMILIES, check: layers, description: 'layer-wise / light-weight: layers whose scores to return' },
  { field: 'compress_ratio', engine: 'compressRatio', families: ['lightweight'], check: ratio, description: 'light-weight: 1, 2, 4 or 8' },
  { field: 'compress_layers', engine: 'compressLayers', families: ['lightweight'], check: layers, description: 'light-weight: layers where tokens are compressed' },
];

export const ENGINE_OPTION_FIELDS: readonly string[] = ENGINE_OPTIONS.map((o) => o.field);

/** Engine options where `null` means something (the engine's "none" / "default"), kept when nulls are dropped. */
export const NULLABLE_ENGINE_FIELDS: readonly string[] = ENGINE_OPTIONS.filter((o) => {
  try {
    o.check(null, o.field);
    return true;
  } catch {
    return false;
  }
}).map((o) => o.field);

/**
 * The engine options of a request body, checked, as the engine's per-call overrides.
 * `family` (when known) rejects options of other families.
 */
export function readEngineOptions(body: JsonObject, model: KnownModel): ScoreOverrides {
  const { family } = model;
  const out: Record<string, unknown> = {};
  for (const spec of ENGINE_OPTIONS) {
    const v = body[spec.field];
    if (v === undefined) continue;
    if (family && spec.families && !spec.families.includes(family)) {
      throw invalid(spec.field, `applies to the ${spec.families.join(' / ')} families only; model "${model.name}" is ${family === 'encoder' || family === 'llm' ? 'an' : 'a'} ${family} reranker, so leave it out`);
    }
    out[spec.engine] = spec.check(v, spec.field);
  }
  checkAgainstModel(out as ScoreOverrides, model);
  return out as ScoreOverrides;
}

/**
 * max_length against the model's positions, as the engine checks it (its refusal, made at submission):
 * the longest sequence truncation can make for these settings must fit. A query part that alone fills
 * max_length is scored untruncated by the engine (as the reference) when it fits, so it is not refused
 * here. A prompt other than the model's default counts as no tokens: the API refuses only what the
 * engine would.
 */
function checkPositions(o: ScoreOverrides, model: KnownModel, base: Record<string, unknown>): void {
  const limit = model.maxPositions;
  if (limit === undefined) return;
  const maxLength = o.maxLength ?? (typeof base.maxLength === 'number' ? base.maxLength : 512);
  const queryMaxLength = o.queryMaxLength ?? (typeof base.queryMaxLength === 'number' ? base.queryMaxLength : Math.floor((maxLength * 3) / 4));
  let longest = maxLength;
  let what = 'query, document and special tokens';
  if (model.family && model.family !== 'encoder' && model.decoderParts) {
    const customPrompt = (o.prompt !== undefined && o.prompt !== null) || typeof base.prompt === 'string';
    const parts = { ...model.decoderParts, ...(customPrompt ? { prompt: 0 } : {}) };
    longest = longestDecoderSequence({ maxLength, queryMaxLength }, parts);
    what = 'max_length plus separator and prompt, which the reference adds twice';
  }
  if (longest <= limit) return;
  const room = limit - (longest - maxLength);
  throw invalid(
    'max_length',
    `${maxLength}${o.maxLength === undefined ? ' (the default)' : ''} makes sequences of up to ${longest} tokens (${what}), beyond model "${model.name}"'s ${limit} positions; ` +
      (room >= 1 ? `send max_length ${room} or less` : 'send a shorter prompt'),
  );
}

/** Checks that depend on the model (lengths, its layers, its exported compression settings). */
function checkAgainstModel(o: ScoreOverrides, model: KnownModel): void {
  const base = model.options ?? {};
  checkPositions(o, model, base);
  if (o.cutoffLayers && model.layers) {
    const bad = o.cutoffLayers.find((l) => !model.layers?.includes(l));
    if (bad !== undefined) throw invalid('cutoff_layers', `layer ${bad} is not one model "${model.name}" scores; it offers ${JSON.stringify(model.layers)}`);
  }
  if ((o.compressRatio !== undefined || o.compressLayers !== undefined) && model.compression) {
    const ratio = o.compressRatio ?? (typeof base.compressRatio === 'number' ? base.compressRatio : 1);
    const layers = o.compressLayers !== undefined ? o.compressLayers : Array.isArray(base.compressLayers) ? (base.compressLayers as number[]) : null;
    const same = (a: number[]) => layers === null || (a.length === layers.length && a.every((l) => layers.includes(l)));
    if (!model.compression.some((c) => c.ratio === ratio && (ratio === 1 || same(c.layers)))) {
      const offers = model.compression.map((c) => `ratio ${c.ratio} at layers ${JSON.stringify(c.layers)}`).join('; ');
      const field = model.compression.some((c) => c.ratio === ratio) ? 'compress_layers' : 'compress_ratio';
      throw invalid(field, `model "${model.name}" has no graph exported with compress_ratio ${ratio} and compress_layers ${JSON.stringify(layers)}; it offers ${offers}`);
    }
  }
}
