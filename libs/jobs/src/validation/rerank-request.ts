/**
 * POST /v1/rerank and /v2/rerank (Cohere v1 / v2 and Jina request shapes), checked and normalized.
 */
import type { ScoreOverrides } from '@rerank/engine';
import { ApiError, invalid } from '../errors';
import { describe, isObject, optionalBool, rejectUnknownKeys } from './common';
import { checkText, type ItemId, pickModel, readDocuments, type ValidationContext } from './documents';
import { ENGINE_OPTION_FIELDS, readEngineOptions } from './engine-options';
import { validateTopK } from './job-request';

export interface NormalizedRerank {
  model: string;
  query: string;
  documents: string[];
  topN: number;
  returnDocuments: boolean;
  options: ScoreOverrides;
}

const RERANK_FIELDS = ['model', 'query', 'documents', 'top_n', 'return_documents', 'rank_fields', 'max_chunks_per_doc', 'max_tokens_per_doc', ...ENGINE_OPTION_FIELDS];

export function validateRerankRequest(body: unknown, ctx: ValidationContext, version: 1 | 2): NormalizedRerank {
  const { limits } = ctx;
  if (!isObject(body)) {
    throw invalid('', `the request body must be a JSON object (Content-Type: application/json) with "query" and "documents", got ${describe(body)}`);
  }
  rejectUnknownKeys(body, RERANK_FIELDS, '', `a v${version} rerank request`);
  const model = pickModel(body.model, ctx.models);
  if (body.query === undefined) throw invalid('query', 'missing; send the query text');
  const query = checkText(body.query, 'query', limits, 'query', false);
  if (Array.isArray(body.documents) && body.documents.length > limits.syncMaxDocuments) {
    throw new ApiError(
      413,
      'too_large_for_sync',
      `documents: ${body.documents.length} documents exceed the synchronous limit of ${limits.syncMaxDocuments} (RERANK_SYNC_MAX_DOCUMENTS); ` +
        'submit them as an asynchronous job instead: POST /v1/jobs with the same query and documents, then GET /v1/jobs/{id}/results (or pass a webhook)',
      'documents',
      { name: 'documents per synchronous request', value: limits.syncMaxDocuments, env: 'RERANK_SYNC_MAX_DOCUMENTS' },
      { jobs_url: '/v1/jobs' },
    );
  }
  const documents: string[] = [];
  const ids: (ItemId | null)[] = [];
  readDocuments(body.documents, 'documents', limits, documents, ids, false, 0);
  if (body.rank_fields !== undefined) {
    if (!Array.isArray(body.rank_fields) || body.rank_fields.length !== 1 || body.rank_fields[0] !== 'text') {
      throw invalid('rank_fields', `only ["text"] is supported (documents are strings or {"text": "..."}), got ${describe(body.rank_fields)}`);
    }
  }
  if (body.max_chunks_per_doc !== undefined) throw invalid('max_chunks_per_doc', 'not supported: documents are scored whole (truncated to max_length tokens); leave it out');
  if (body.max_tokens_per_doc !== undefined) throw invalid('max_tokens_per_doc', 'not supported; use max_length (tokens of query + document) instead');
  const topN = validateTopK(body.top_n, 'top_n', limits.maxTopK, documents.length);
  const returnDocuments = optionalBool(body, 'return_documents', false);
  // Cohere and Jina return relevance scores in 0..1: the sigmoid of the model's score, unless the
  // request sets normalize: false for raw scores.
  const options: ScoreOverrides = { normalize: true, ...readEngineOptions(body, model) };
  return { model: model.name, query, documents, topN: Math.min(topN, documents.length), returnDocuments, options };
}
