/**
 * POST /v1/rerank and /v2/rerank (Cohere v1 / v2 and Jina request shapes), checked and normalized.
 * `null` means absent (LangChain and generated SDKs send it for unset fields).
 */
import type { ScoreOverrides } from '@rerank/engine';
import { COHERE_MAX_TOKENS_PER_DOC, fieldNames, REQUEST_FIELDS, RerankRequestSchema } from '../contract/http-bodies';
import { ValidationError } from '../errors';
import { checkText, type ValidationContext } from './documents';
import { readEngineOptions } from './engine-options';
import type { BodyWords } from './issues';
import { topKWords, validateTopK } from './job-request';
import { RANKED_DOCUMENT_WORDS, readRankedDocuments } from './ranked-documents';
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

const RERANK_SCHEMA = RerankRequestSchema.strict();

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
    },
  };
}

export function validateRerankRequest(input: unknown, ctx: ValidationContext, version: 1 | 2): NormalizedRerank {
  const { limits } = ctx;
  const { body, model } = parseRequest(RERANK_SCHEMA, input, rerankWords(ctx, version), ctx.models);
  const query = checkText(body.query, 'query', limits, 'query', false);
  if (body.documents.length > limits.syncMaxDocuments) throw tooLargeForSync(body.documents.length, limits.syncMaxDocuments);
  const { texts: documents, originals } = readRankedDocuments(body.documents, body.rank_fields, limits);
  const maxChunksPerDoc = body.max_chunks_per_doc ?? undefined;
  const maxTokensPerDoc = body.max_tokens_per_doc ?? (version === 2 ? COHERE_MAX_TOKENS_PER_DOC : undefined);
  const priority = body.priority ?? 0;
  const topN = validateTopK(body.top_n ?? undefined, 'top_n', limits.maxTopK, documents.length);
  const returnDocuments = body.return_documents ?? false;
  // Cohere and Jina return relevance scores in 0..1: the sigmoid of the model's score, unless the
  // request sets normalize: false for raw scores.
  const options: ScoreOverrides = { normalize: true, ...readEngineOptions(body, model) };
  return {
    model: model.name,
    query,
    documents,
    originals,
    topN: Math.min(topN, documents.length),
    returnDocuments,
    options,
    ...(maxTokensPerDoc !== undefined ? { maxTokensPerDoc } : {}),
    ...(maxChunksPerDoc !== undefined ? { maxChunksPerDoc } : {}),
    priority,
  };
}
