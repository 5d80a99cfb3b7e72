/**
 * Engine options as the API takes them (snake_case fields of the request body), checked before
 * anything is queued so a bad option is a 400 and never a failed job. Each option is declared once,
 * in the engine's contract (@rerank/engine API_ENGINE_OPTIONS: type, service bounds, families, doc);
 * the checks here are that declaration run by zod, in the API's words.
 */
import {
  API_ENGINE_OPTIONS,
  type ApiEngineOption,
  type Field,
  fieldProblem,
  findCompressionGraph,
  longestDecoderSequence,
  type ScoreOverrides,
} from '@rerank/engine';
import { invalid } from '../errors';
import { describe, type JsonObject } from './common';
import type { KnownModel } from './documents';

/** The options the API takes, in declaration order. */
export const ENGINE_OPTIONS: readonly ApiEngineOption[] = API_ENGINE_OPTIONS;

export const ENGINE_OPTION_FIELDS: readonly string[] = ENGINE_OPTIONS.map((o) => o.field);

/** Engine options where `null` means something (the engine's "none" / "default"), kept when nulls are dropped. */
export const NULLABLE_ENGINE_FIELDS: readonly string[] = ENGINE_OPTIONS.filter((o) => o.check.schema.safeParse(null).success).map(
  (o) => o.field,
);

/** A value against its contract field, or a 400 naming the field: "<field>: expected <what>, got <value>". */
export function checkField<T>(f: Field, value: unknown, field: string): T {
  const problem = fieldProblem(f, value);
  if (problem) throw invalid(field, problem.message ?? `expected ${f.expect}, got ${describe(value)}`);
  return value as T;
}

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
      throw invalid(
        spec.field,
        `applies to the ${spec.families.join(' / ')} families only; model "${model.name}" is ${family === 'encoder' || family === 'llm' ? 'an' : 'a'} ${family} reranker, so leave it out`,
      );
    }
    const value = checkField<unknown>(spec.check, v, spec.field);
    out[spec.engine] = Array.isArray(value) ? (value as unknown[]).slice() : value;
  }
  checkAgainstModel(out, model);
  return out;
}

/**
 * max_length against the model's positions, as the engine checks it (its refusal, made at submission):
 * the longest sequence truncation can make for these settings must fit. A query part that alone fills
 * max_length is scored untruncated by the engine (as the reference) when it fits, so it is not refused
 * here. A prompt other than the model's default counts as no tokens: the API refuses only what the
 * engine would.
 */
function checkPositions(o: ScoreOverrides, model: KnownModel, base: Record<string, unknown>): void {
  const maxLength = o.maxLength ?? (typeof base.maxLength === 'number' ? base.maxLength : (model.maxLength ?? 512));
  // qwen3: the prompt's prefix and suffix are never cut; a custom template is checked by the engine.
  const customTemplate = (o.promptTemplate !== undefined && o.promptTemplate !== null) || base.promptTemplate !== undefined;
  if (model.family === 'qwen3' && model.chatFrame !== undefined && !customTemplate && maxLength <= model.chatFrame)
    throw invalid(
      'max_length',
      `${maxLength} leaves no room for the query and document: model "${model.name}"'s prompt prefix and suffix take ${model.chatFrame} tokens; send max_length ${model.chatFrame + 1} or more`,
    );
  const limit = model.maxPositions;
  if (limit === undefined) return;
  const queryMaxLength =
    o.queryMaxLength ?? (typeof base.queryMaxLength === 'number' ? base.queryMaxLength : Math.floor((maxLength * 3) / 4));
  let longest = maxLength;
  let what = 'query, document and special tokens';
  if (model.family && model.family !== 'encoder' && model.family !== 'qwen3' && model.decoderParts) {
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
    if (bad !== undefined)
      throw invalid('cutoff_layers', `layer ${bad} is not one model "${model.name}" scores; it offers ${JSON.stringify(model.layers)}`);
  }
  if ((o.compressRatio !== undefined || o.compressLayers !== undefined) && model.compression) {
    const ratio = o.compressRatio ?? (typeof base.compressRatio === 'number' ? base.compressRatio : 1);
    const layers =
      o.compressLayers !== undefined ? o.compressLayers : Array.isArray(base.compressLayers) ? (base.compressLayers as number[]) : null;
    if (!findCompressionGraph(model.compression, ratio, layers)) {
      const offers = model.compression.map((c) => `ratio ${c.ratio} at layers ${JSON.stringify(c.layers)}`).join('; ');
      const field = model.compression.some((c) => c.ratio === ratio) ? 'compress_layers' : 'compress_ratio';
      throw invalid(
        field,
        `model "${model.name}" has no graph exported with compress_ratio ${ratio} and compress_layers ${JSON.stringify(layers)}; it offers ${offers}`,
      );
    }
  }
}
