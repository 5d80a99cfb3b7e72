/**
 * Request shapes of other rerank servers, checked and normalized:
 * - Hugging Face TEI `POST /rerank` {query, texts, raw_scores, return_text, truncate, truncation_direction};
 * - vLLM / Infinity `POST /rerank` (Cohere-like, `documents`), with their extra fields;
 * - vLLM `POST /score` and `/v1/score` {model, text_1, text_2} (one-to-one or one-to-many).
 * `null` means absent, as on every route.
 */
import type { ScoreOverrides } from '@rerank/engine';
import { invalid } from '../errors';
import { describe, isInt, isObject, type JsonObject, optionalBool, rejectUnknownKeys, withoutNulls } from './common';
import { checkText, pickModel, type ValidationContext } from './documents';
import { NULLABLE_ENGINE_FIELDS, readEngineOptions } from './engine-options';
import { fieldNames, ScoreRequestSchema, TeiRerankRequestSchema } from '../contract/http-bodies';
import { tooLargeForSync } from './rerank-request';

export interface NormalizedTeiRerank {
  model: string;
  query: string;
  texts: string[];
  returnText: boolean;
  /** TEI `truncation_direction: "Left"`: keep a document's end rather than its start. */
  truncateLeft: boolean;
  options: ScoreOverrides;
}

const TEI_FIELDS = fieldNames(TeiRerankRequestSchema);

function bodyObject(input: unknown, what: string): JsonObject {
  if (!isObject(input)) throw invalid('', `the request body must be a JSON object (Content-Type: application/json) ${what}, got ${describe(input)}`);
  return withoutNulls(input, NULLABLE_ENGINE_FIELDS);
}

function textList(v: unknown, field: string, ctx: ValidationContext): string[] {
  if (v === undefined) throw invalid(field, 'missing; send a list of texts');
  if (!Array.isArray(v)) throw invalid(field, `expected a list of strings, got ${describe(v)}`);
  if (v.length === 0) throw invalid(field, 'the list is empty; send at least one text');
  if (v.length > ctx.limits.syncMaxDocuments) throw tooLargeForSync(v.length, ctx.limits.syncMaxDocuments);
  return v.map((t, i) => checkText(t, `${field}[${i}]`, ctx.limits, 'text', true));
}

export function validateTeiRerank(input: unknown, ctx: ValidationContext): NormalizedTeiRerank {
  const body = bodyObject(input, 'with "query" and "texts"');
  rejectUnknownKeys(body, TEI_FIELDS, '', 'a TEI rerank request');
  const model = pickModel(body.model, ctx.models);
  if (body.query === undefined) throw invalid('query', 'missing; send the query text');
  const query = checkText(body.query, 'query', ctx.limits, 'query', false);
  const texts = textList(body.texts, 'texts', ctx);
  const raw = optionalBool(body, 'raw_scores', false);
  const returnText = optionalBool(body, 'return_text', false);
  // Documents are always truncated to max_length tokens (TEI's truncate: true); false is accepted.
  optionalBool(body, 'truncate', false);
  const direction = body.truncation_direction ?? 'Right';
  if (direction !== 'Right' && direction !== 'Left') throw invalid('truncation_direction', `expected "Right" or "Left", got ${describe(direction)}`);
  const options: ScoreOverrides = { ...readEngineOptions(body, model), normalize: !raw };
  return { model: model.name, query, texts, returnText, truncateLeft: direction === 'Left', options };
}

/**
 * vLLM / Infinity `POST /rerank` → the Cohere v1 body our rerank validation takes: Infinity's
 * `raw_scores: true` is `normalize: false`; vLLM's `truncate_prompt_tokens` (tokens of query +
 * document; -1 the model's limit) is `max_length`. Their other fields are Cohere's.
 */
export function vllmRerankToCohere(input: unknown): unknown {
  if (!isObject(input)) return input;
  const { raw_scores: raw, truncate_prompt_tokens: truncate, ...rest } = withoutNulls(input, NULLABLE_ENGINE_FIELDS);
  const out: JsonObject = { ...rest };
  if (raw !== undefined) {
    if (typeof raw !== 'boolean') throw invalid('raw_scores', `expected true or false, got ${describe(raw)}`);
    if (raw) out.normalize = false;
  }
  if (truncate !== undefined && truncate !== -1) {
    if (!isInt(truncate) || truncate < 1) throw invalid('truncate_prompt_tokens', `expected a positive integer (or -1 for the model's limit), got ${describe(truncate)}`);
    if (out.max_length === undefined) out.max_length = truncate;
  }
  return out;
}

export interface NormalizedScore {
  model: string;
  /** The (text_1, text_2) pairs in response order. */
  pairs: [string, string][];
  options: ScoreOverrides;
}

const SCORE_FIELDS = fieldNames(ScoreRequestSchema);

function oneOrMany(v: unknown, field: string, ctx: ValidationContext): string | string[] {
  if (v === undefined) throw invalid(field, 'missing; send a string or a list of strings');
  if (typeof v === 'string') return checkText(v, field, ctx.limits, 'text', false);
  return textList(v, field, ctx);
}

/** vLLM's score API: text_1 a string and text_2 a string or list (one-to-many), or two lists of one length (pairwise). */
export function validateScoreRequest(input: unknown, ctx: ValidationContext): NormalizedScore {
  const body = bodyObject(input, 'with "text_1" and "text_2"');
  rejectUnknownKeys(body, SCORE_FIELDS, '', 'a score request');
  const model = pickModel(body.model, ctx.models);
  const a = oneOrMany(body.text_1, 'text_1', ctx);
  const b = oneOrMany(body.text_2, 'text_2', ctx);
  let pairs: [string, string][];
  if (typeof a === 'string') pairs = (typeof b === 'string' ? [b] : b).map((t) => [a, t]);
  else if (typeof b === 'string') throw invalid('text_2', 'a single text_2 with a list of text_1: send text_1 as one string (one-to-many) or text_2 as a list of the same length (pairwise)');
  else if (a.length !== b.length) throw invalid('text_2', `${b.length} texts for ${a.length} in text_1; pairwise scoring needs lists of one length`);
  else pairs = a.map((t, i) => [t, b[i]]);
  const truncate = body.truncate_prompt_tokens;
  const { truncate_prompt_tokens: _t, ...rest } = body;
  const extra: JsonObject = {};
  if (truncate !== undefined && truncate !== -1) {
    if (!isInt(truncate) || truncate < 1) throw invalid('truncate_prompt_tokens', `expected a positive integer (or -1 for the model's limit), got ${describe(truncate)}`);
    if (rest.max_length === undefined) extra.max_length = truncate;
  }
  // vLLM's cross-encoder scores are probabilities (the sigmoid) unless normalize: false.
  const options: ScoreOverrides = { normalize: true, ...readEngineOptions({ ...rest, ...extra }, model) };
  return { model: model.name, pairs, options };
}
