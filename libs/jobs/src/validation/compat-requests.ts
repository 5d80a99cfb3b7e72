/**
 * Request shapes of other rerank servers, checked and normalized:
 * - Hugging Face TEI `POST /rerank` {query, texts, raw_scores, return_text, truncate, truncation_direction};
 * - vLLM / Infinity `POST /rerank` (Cohere-like, `documents`), with their extra fields;
 * - vLLM `POST /score` and `/v1/score` {model, text_1, text_2} (one-to-one or one-to-many).
 * `null` means absent, as on every route.
 */
import type { ScoreOverrides } from '@rerank/engine';
import { invalid } from '../errors';
import { describe, isObject, type JsonObject, withoutNulls } from './common';
import { checkText, type ValidationContext } from './documents';
import { NULLABLE_ENGINE_FIELDS, readEngineOptions } from './engine-options';
import { fieldNames, REQUEST_FIELDS, ScoreRequestSchema, TeiRerankRequestSchema, VllmRerankRequestSchema } from '../contract/http-bodies';
import { type BodyWords, type FieldWords, issueToError, runSchema } from './issues';
import { commonFieldWords, parseRequest } from './request-body';
import { topKWords } from './job-request';
import { syncTopN, tooLargeForSync } from './rerank-request';

export interface NormalizedTeiRerank {
  model: string;
  query: string;
  texts: string[];
  returnText: boolean;
  /** TEI `truncation_direction: "Left"`: keep a document's end rather than its start. */
  truncateLeft: boolean;
  /** Results returned, best first: every text unless top_n asks for fewer. */
  topN: number;
  options: ScoreOverrides;
}

/** Not strict: TEI ignores the fields it does not use (LiteLLM's and `rerankers`' TEI clients send Cohere's). */
const TEI_SCHEMA = TeiRerankRequestSchema;

/** Wording of a list of texts at `at` (TEI's texts, vLLM's text_1 / text_2). */
function textListWords(at: string, missing: string): Record<string, FieldWords> {
  return {
    [at]: { missing, expect: 'a list of strings', empty: 'send at least one text' },
    [`${at}[]`]: { expect: 'text as a string' },
  };
}

const TRUNCATE_PROMPT_TOKENS: FieldWords = {
  message: (v) => `expected a positive integer (or -1 for the model's limit), got ${describe(v)}`,
};

/** Texts the contract accepted, against the configured limits. */
function textList(list: readonly string[], field: string, ctx: ValidationContext): string[] {
  if (list.length > ctx.limits.syncMaxDocuments) throw tooLargeForSync(list.length, ctx.limits.syncMaxDocuments);
  return list.map((t, i) => checkText(t, `${field}[${i}]`, ctx.limits, 'text', true));
}

export function validateTeiRerank(input: unknown, ctx: ValidationContext): NormalizedTeiRerank {
  const words: BodyWords = {
    body: 'with "query" and "texts"',
    what: 'a TEI rerank request',
    known: fieldNames(TeiRerankRequestSchema),
    fields: {
      ...commonFieldWords(ctx.models),
      query: { missing: 'send the query text', expect: 'query as a string' },
      ...textListWords('texts', 'send a list of texts'),
      raw_scores: { field: REQUEST_FIELDS.rawScores },
      return_text: { field: REQUEST_FIELDS.returnDocuments },
      truncate: { field: REQUEST_FIELDS.truncate },
      truncation_direction: { expect: '"Right" or "Left"' },
      top_n: topKWords(ctx.limits.maxTopK),
    },
  };
  const { body, model } = parseRequest(TEI_SCHEMA, input, words, ctx.models);
  const query = checkText(body.query, 'query', ctx.limits, 'query', false);
  const texts = textList(body.texts, 'texts', ctx);
  // Documents are always truncated to max_length tokens (TEI's truncate: true); false is accepted.
  const options: ScoreOverrides = { ...readEngineOptions(body, model), normalize: !(body.raw_scores ?? false) };
  return {
    model: model.name,
    query,
    texts,
    returnText: body.return_text ?? false,
    truncateLeft: body.truncation_direction === 'Left',
    topN: syncTopN(body.top_n, ctx.limits, texts.length),
    options,
  };
}

const VLLM_EXTRAS = VllmRerankRequestSchema.pick({ raw_scores: true, truncate_prompt_tokens: true });
const VLLM_WORDS: BodyWords = {
  body: 'with "query" and "documents"',
  what: 'a rerank request',
  known: fieldNames(VllmRerankRequestSchema),
  fields: { raw_scores: { field: REQUEST_FIELDS.rawScores }, truncate_prompt_tokens: TRUNCATE_PROMPT_TOKENS },
};

/** vLLM's truncate_prompt_tokens as max_length: -1 (the model's limit) is none, 0 is refused. */
function truncateToMaxLength(truncate: number | null | undefined): number | undefined {
  if (truncate === undefined || truncate === null || truncate === -1) return undefined;
  if (truncate === 0) throw invalid('truncate_prompt_tokens', TRUNCATE_PROMPT_TOKENS.message!(0, undefined as never));
  return truncate;
}

/**
 * vLLM / Infinity `POST /rerank` → the Cohere v1 body our rerank validation takes: Infinity's
 * `raw_scores: true` is `normalize: false`; vLLM's `truncate_prompt_tokens` (tokens of query +
 * document; -1 the model's limit) is `max_length`. Their other fields are Cohere's.
 */
export function vllmRerankToCohere(input: unknown): unknown {
  if (!isObject(input)) return input;
  const body = withoutNulls(input, NULLABLE_ENGINE_FIELDS);
  const { data, issue } = runSchema(VLLM_EXTRAS, body);
  if (issue) throw issueToError(issue, VLLM_WORDS, body);
  const { raw_scores: _r, truncate_prompt_tokens: _t, ...rest } = body;
  const out: JsonObject = { ...rest };
  if (data?.raw_scores) out.normalize = false;
  const maxLength = truncateToMaxLength(data?.truncate_prompt_tokens);
  if (maxLength !== undefined && out.max_length === undefined) out.max_length = maxLength;
  return out;
}

export interface NormalizedScore {
  model: string;
  /** The (text_1, text_2) pairs in response order. */
  pairs: [string, string][];
  options: ScoreOverrides;
}

const SCORE_SCHEMA = ScoreRequestSchema.strict();

function oneOrMany(v: string | string[], field: string, ctx: ValidationContext): string | string[] {
  return typeof v === 'string' ? checkText(v, field, ctx.limits, 'text', false) : textList(v, field, ctx);
}

/** vLLM's score API: text_1 a string and text_2 a string or list (one-to-many), or two lists of one length (pairwise). */
export function validateScoreRequest(input: unknown, ctx: ValidationContext): NormalizedScore {
  const words: BodyWords = {
    body: 'with "text_1" and "text_2"',
    what: 'a score request',
    known: fieldNames(ScoreRequestSchema),
    fields: {
      ...commonFieldWords(ctx.models),
      ...textListWords('text_1', 'send a string or a list of strings'),
      ...textListWords('text_2', 'send a string or a list of strings'),
      truncate_prompt_tokens: TRUNCATE_PROMPT_TOKENS,
      encoding_format: { expect: 'a string' },
      user: { expect: 'a string' },
    },
  };
  const { body, model } = parseRequest(SCORE_SCHEMA, input, words, ctx.models);
  const a = oneOrMany(body.text_1, 'text_1', ctx);
  const b = oneOrMany(body.text_2, 'text_2', ctx);
  let pairs: [string, string][];
  if (typeof a === 'string') pairs = (typeof b === 'string' ? [b] : b).map((t) => [a, t]);
  else if (typeof b === 'string')
    throw invalid(
      'text_2',
      'a single text_2 with a list of text_1: send text_1 as one string (one-to-many) or text_2 as a list of the same length (pairwise)',
    );
  else if (a.length !== b.length)
    throw invalid('text_2', `${b.length} texts for ${a.length} in text_1; pairwise scoring needs lists of one length`);
  else pairs = a.map((t, i) => [t, b[i]]);
  const { truncate_prompt_tokens: truncate, ...rest } = body as JsonObject & { truncate_prompt_tokens?: number | null };
  const maxLength = truncateToMaxLength(truncate);
  const extra: JsonObject = maxLength !== undefined && rest.max_length === undefined ? { max_length: maxLength } : {};
  // vLLM's cross-encoder scores are probabilities (the sigmoid) unless normalize: false.
  const options: ScoreOverrides = { normalize: true, ...readEngineOptions({ ...rest, ...extra }, model) };
  return { model: model.name, pairs, options };
}
