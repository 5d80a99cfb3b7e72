/**
 * POST /v1/rerank and /v2/rerank (Cohere v1 / v2 and Jina request shapes), checked and normalized.
 * `null` means absent (LangChain and generated SDKs send it for unset fields).
 */
import type { ScoreOverrides } from '@rerank/engine';
import type { Limits } from '../config';
import type { z } from 'zod';
import {
  COHERE_MAX_TOKENS_PER_DOC,
  fieldNames,
  REQUEST_FIELDS,
  type RelevantSpansSchema,
  RerankRequestSchema,
} from '../contract/http-bodies';
import { invalid, ValidationError } from '../errors';
import { checkText, type ValidationContext } from './documents';
import { readEngineOptions } from './engine-options';
import type { BodyWords } from './issues';
import { topKWords, validateTopK } from './job-request';
import { RANKED_DOCUMENT_WORDS, type RankedDocumentInput, readRankedDocuments } from './ranked-documents';
import { commonFieldWords, parseRequest } from './request-body';

export interface NormalizedRerank {
  model: string;
  query: string;
  /** The text each document is scored by (rank_fields applied). */
  documents: string[];
  /** Each document as the response returns it (`return_documents`): the object as sent, or {text}. */
  originals: Record<string, unknown>[];
  topN: number;
  returnDocuments: boolean;
  options: ScoreOverrides;
  /** Cohere v2: each document cut to this many tokens before scoring (default 4096). */
  maxTokensPerDoc?: number;
  /** Cohere v1: a long document is split into at most this many chunks that fit beside the query; its score is its best chunk's. */
  maxChunksPerDoc?: number;
  /** Cohere v2: 0 (default) is the highest; the request's weight (schedule.ts, priorityWeight). */
  priority: number;
}

export { COHERE_MAX_TOKENS_PER_DOC };
/** Most chunks per document we produce for `max_chunks_per_doc`. */
export const MAX_CHUNKS_PER_DOC = REQUEST_FIELDS.maxChunksPerDoc.schema.maxValue as number;

const RERANK_FIELDS = fieldNames(RerankRequestSchema);

export function tooLargeForSync(count: number, max: number): ValidationError {
  return new ValidationError(
    'too_large_for_sync',
    'documents',
    `documents: ${count} documents exceed the synchronous limit of ${max} (RERANK_SYNC_MAX_DOCUMENTS); ` +
      'submit them as an asynchronous job instead: POST /v1/jobs with the same query and documents, then GET /v1/jobs/{id}/results (or pass a webhook)',
    { name: 'documents per synchronous request', value: max, env: 'RERANK_SYNC_MAX_DOCUMENTS' },
    { jobs_url: '/v1/jobs' },
  );
}

/**
 * top_n of a synchronous request (every route): every document when absent, as Cohere and TEI mean
 * it, never cut to RERANK_MAX_TOP_K; a top_n above that limit is a 400 naming it.
 */
export function syncTopN(topN: number | null | undefined, limits: Limits, documents: number): number {
  return Math.min(validateTopK(topN ?? undefined, 'top_n', limits.maxTopK, documents), documents);
}

const RERANK_SCHEMA = RerankRequestSchema.strict();

/**
 * Cohere's relevant_spans (Rerank 5's Context Focus) asks for the passages of each document that
 * answer the query, with calibrated scores, from a model trained to find them. The families served
 * here score a (query, document) pair as a whole: any span we made up by chunking would carry scores
 * of another meaning, so asking for spans is refused rather than answered with something else.
 */
function spansAsked(v: z.output<typeof RelevantSpansSchema> | null | undefined): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'boolean') return v;
  return (typeof v === 'string' ? v : 'mode' in v ? v.mode : v.type) === 'enabled';
}

const SPANS_NOT_OFFERED =
  'relevant spans are not offered: the served models score each document as a whole; leave relevant_spans out or send "disabled" (max_chunks_per_doc scores a long document by its best chunk)';

function rerankWords(ctx: ValidationContext, version: 1 | 2): BodyWords {
  return {
    body: 'with "query" and "documents"',
    what: `a v${version} rerank request`,
    known: RERANK_FIELDS,
    fields: {
      ...commonFieldWords(ctx.models),
      query: { missing: 'send the query text', expect: 'query as a string' },
      ...RANKED_DOCUMENT_WORDS,
      top_n: topKWords(ctx.limits.maxTopK),
      return_documents: { field: REQUEST_FIELDS.returnDocuments },
      max_chunks_per_doc: { field: REQUEST_FIELDS.maxChunksPerDoc },
      max_tokens_per_doc: { field: REQUEST_FIELDS.maxTokensPerDoc },
      priority: { field: REQUEST_FIELDS.priority },
      relevant_spans: { whole: true, expect: '"disabled" (or false, or {"mode": "disabled"})' },
    },
  };
}

export function validateRerankRequest(input: unknown, ctx: ValidationContext, version: 1 | 2): NormalizedRerank {
  const { limits } = ctx;
  const { body, model } = parseRequest(RERANK_SCHEMA, input, rerankWords(ctx, version), ctx.models);
  const query = checkText(body.query, 'query', limits, 'query', false);
  if (body.documents.length > limits.syncMaxDocuments) throw tooLargeForSync(body.documents.length, limits.syncMaxDocuments);
  // The documents as sent, not zod's copies: a copy is built by assignment, where a document's own
  // "__proto__" field becomes its prototype and leaves the document (the contract checked their shape).
  const sent = (input as { documents: RankedDocumentInput[] }).documents;
  const { texts: documents, originals } = readRankedDocuments(sent, body.rank_fields, limits);
  if (spansAsked(body.relevant_spans)) throw invalid('relevant_spans', SPANS_NOT_OFFERED);
  const maxChunksPerDoc = body.max_chunks_per_doc ?? undefined;
  const maxTokensPerDoc = body.max_tokens_per_doc ?? (version === 2 ? COHERE_MAX_TOKENS_PER_DOC : undefined);
  const priority = body.priority ?? 0;
  const returnDocuments = body.return_documents ?? false;
  // Cohere and Jina return relevance scores in 0..1: the sigmoid of the model's score, unless the
  // request sets normalize: false for raw scores.
  const options: ScoreOverrides = { normalize: true, ...readEngineOptions(body, model) };
  return {
    model: model.name,
    query,
    documents,
    originals,
    topN: syncTopN(body.top_n, limits, documents.length),
    returnDocuments,
    options,
    ...(maxTokensPerDoc !== undefined ? { maxTokensPerDoc } : {}),
    ...(maxChunksPerDoc !== undefined ? { maxChunksPerDoc } : {}),
    priority,
  };
}
