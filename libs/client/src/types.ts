/**
 * The HTTP shapes of the rerank API as the client sends and receives them, in one module so that
 * they can be swapped for the types generated from the API contract. They mirror the server's
 * wire format exactly (snake_case fields, `null` where the server sends null).
 */

/** A document or job identifier as the caller gave it. */
export type ItemId = string | number;

/** Engine options accepted by every scoring request (the server checks them against the model's family). */
export interface EngineOptions {
  normalize?: boolean;
  max_length?: number;
  query_max_length?: number | null;
  batch_size?: number;
  max_batch_tokens?: number;
  query_instruction_for_rerank?: string | null;
  query_instruction_format?: string;
  passage_instruction_for_rerank?: string | null;
  passage_instruction_format?: string;
  /** LLM families. */
  prompt?: string | null;
  /** Layer-wise and light-weight families. */
  cutoff_layers?: number[] | null;
  /** Light-weight family: 1, 2, 4 or 8. */
  compress_ratio?: number;
  compress_layers?: number[] | null;
}

/** A synchronous document: a string, `{text}`, or (Cohere v1) an object with any fields ranked by `rank_fields`. */
export type RerankDocument = string | { text: string } | Record<string, unknown>;

/** `POST /v1/rerank` (Cohere v1 / Jina) and `POST /v2/rerank` (Cohere v2). `null` means absent. */
export interface RerankRequest extends EngineOptions {
  model?: string;
  query: string;
  documents: RerankDocument[];
  top_n?: number | null;
  return_documents?: boolean | null;
  rank_fields?: string[] | null;
  /** v1: a long document is split into chunks; its score is its best chunk's. */
  max_chunks_per_doc?: number | null;
  /** v2: each document cut to this many tokens (default 4096). */
  max_tokens_per_doc?: number | null;
  /** v2: 0 (default) to 9, higher first. */
  priority?: number | null;
}

export interface RerankResult {
  index: number;
  relevance_score: number;
  /** With `return_documents`: the document as sent (`{text}` for a string). */
  document?: Record<string, unknown>;
}

export interface RerankResponse {
  id: string;
  results: RerankResult[];
  meta: { api_version: { version: string }; billed_units: { search_units: number } };
  model: string;
  usage: { documents: number; search_units: number; total_tokens: number };
}

/** A job document: a string or `{id?, text}`. */
export type JobDocument = string | { id?: ItemId; text: string };

/** A job query: a string or `{id?, query, documents?}` (its own candidates). */
export type JobQuery = string | { id?: ItemId; query: string; documents?: JobDocument[] };

/**
 * `POST /v1/jobs`: `query` + `documents`, or `queries` each with its `documents`, or `queries` +
 * shared `documents` (every query against every document).
 */
export interface JobRequest extends EngineOptions {
  model?: string;
  query?: string;
  documents?: JobDocument[];
  queries?: JobQuery[];
  /** Default 10. */
  top_k?: number;
  /** Default true: document texts in the top-k results. */
  return_documents?: boolean;
  webhook?: { url: string; secret?: string };
  metadata?: Record<string, unknown>;
}

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface JobProgress {
  shards_done: number;
  shards_total: number;
  pairs_done: number;
  pairs_total: number;
}

export interface JobLinks {
  self: string;
  results: string;
  cancel: string;
}

/** `GET /v1/jobs/{id}` (and the answer of submit and cancel). */
export interface Job {
  id: string;
  object: 'rerank.job';
  status: JobStatus;
  model: string;
  created_at: string;
  /** Absent from the submit answer. */
  started_at?: string | null;
  finished_at?: string | null;
  progress: JobProgress;
  counts: { queries: number; documents: number; pairs: number };
  top_k?: number;
  timings?: { queued_ms: number | null; running_ms: number | null; total_ms: number | null };
  error?: { code: string; message: string } | null;
  metadata?: Record<string, unknown> | null;
  webhook?: {
    url: string;
    state: string;
    event: string | null;
    attempts: number;
    last_status: number | null;
    last_error: string | null;
    last_attempt_at: string | null;
    delivered_at: string | null;
  } | null;
  links: JobLinks;
}

export interface RankedDocument {
  index: number;
  id?: ItemId;
  /** The ranking score (the last layer's with several cutoff layers); null for a non-finite score. */
  score: number | null;
  /** Every layer's score, with several cutoff layers. */
  scores?: number[];
  document?: { text: string };
}

export interface QueryResult {
  query_index: number;
  query_id?: ItemId;
  query: string;
  top_k: RankedDocument[];
}

/** `GET /v1/jobs/{id}/results`. */
export interface JobResults {
  id: string;
  object: 'rerank.job.results';
  model: string;
  top_k: number;
  metadata: Record<string, unknown> | null;
  results: QueryResult[];
}

/** One line of `GET /v1/jobs/{id}/results?all=true` (application/x-ndjson). */
export interface ScoreLine {
  query_index: number;
  query_id?: ItemId;
  /** The document's index within its query's documents. */
  index: number;
  id?: ItemId;
  score: number | null;
  scores?: number[];
}

/** The body of a webhook POST (signed with X-Rerank-Signature when the job has a secret). */
export interface WebhookPayload {
  event: 'job.completed' | 'job.failed' | 'job.cancelled';
  delivery_id: string;
  id: string;
  status: JobStatus;
  model: string;
  counts: Job['counts'];
  progress: JobProgress;
  created_at: string;
  finished_at: string | null;
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown> | null;
  links: JobLinks;
  /** When the job completed with few enough top-k entries. */
  results?: QueryResult[];
}

/** Every error answer: `{"error": {...}}`. */
export interface ErrorBody {
  error: {
    code: string;
    message: string;
    field?: string;
    limit?: { name?: string; value?: number; env?: string };
    [key: string]: unknown;
  };
}
