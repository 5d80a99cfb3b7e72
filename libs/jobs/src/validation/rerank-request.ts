/**
 * POST /v1/rerank and /v2/rerank (Cohere v1 / v2 and Jina request shapes), checked and normalized.
 * `null` means absent (LangChain and generated SDKs send it for unset fields).
 */
import type { Field, ScoreOverrides } from '@rerank/engine';
import { COHERE_MAX_TOKENS_PER_DOC, fieldNames, REQUEST_FIELDS, RerankRequestSchema } from '../contract/http-bodies';
import { invalid, ValidationError } from '../errors';
import { describe, isObject, optionalBool, rejectUnknownKeys, withoutNulls } from './common';
import { checkText, pickModel, type ValidationContext } from './documents';
import { checkField, NULLABLE_ENGINE_FIELDS, readEngineOptions } from './engine-options';
import { validateTopK } from './job-request';
import { readRankedDocuments } from './ranked-documents';

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
  /** Cohere v2: 0 (default) is the highest; see syncPriority for the queue mapping. */
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

function optionalInt(v: unknown, field: string, f: Field): number | undefined {
  return v === undefined ? undefined : checkField<number>(f, v, field);
}

export function validateRerankRequest(input: unknown, ctx: ValidationContext, version: 1 | 2): NormalizedRerank {
  const { limits } = ctx;
  if (!isObject(input)) {
    throw invalid('', `the request body must be a JSON object (Content-Type: application/json) with "query" and "documents", got ${describe(input)}`);
  }
  const body = withoutNulls(input, NULLABLE_ENGINE_FIELDS);
  rejectUnknownKeys(body, RERANK_FIELDS, '', `a v${version} rerank request`);
  const model = pickModel(body.model, ctx.models);
  if (body.query === undefined) throw invalid('query', 'missing; send the query text');
  const query = checkText(body.query, 'query', limits, 'query', false);
  if (Array.isArray(body.documents) && body.documents.length > limits.syncMaxDocuments) throw tooLargeForSync(body.documents.length, limits.syncMaxDocuments);
  const { texts: documents, originals } = readRankedDocuments(body.documents, body.rank_fields, limits);
  const maxChunksPerDoc = optionalInt(body.max_chunks_per_doc, 'max_chunks_per_doc', REQUEST_FIELDS.maxChunksPerDoc);
  const maxTokensPerDoc = optionalInt(body.max_tokens_per_doc, 'max_tokens_per_doc', REQUEST_FIELDS.maxTokensPerDoc) ?? (version === 2 ? COHERE_MAX_TOKENS_PER_DOC : undefined);
  const priority = optionalInt(body.priority, 'priority', REQUEST_FIELDS.priority) ?? 0;
  const topN = validateTopK(body.top_n, 'top_n', limits.maxTopK, documents.length);
  const returnDocuments = optionalBool(body, 'return_documents', false);
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
