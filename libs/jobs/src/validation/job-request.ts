/**
 * POST /v1/jobs: the body checked and normalized, or an ApiError naming the field and the fix.
 * Pure: nothing here touches Redis, so a refused request leaves nothing behind.
 */
import type { Family, ScoreOverrides } from '@rerank/engine';
import type { Limits } from '../config';
import { invalid, overLimit } from '../errors';
import { describe, isInt, isObject, type JsonObject, optionalBool, rejectUnknownKeys, withoutNulls } from './common';
import { checkId, checkText, type ItemId, pickModel, readDocuments, type ValidationContext } from './documents';
import { ENGINE_OPTION_FIELDS, NULLABLE_ENGINE_FIELDS, readEngineOptions } from './engine-options';

export const DEFAULT_TOP_K = 10;
export const MAX_METADATA_BYTES = 16384;
export const DEFAULT_MAX_METADATA_DEPTH = 32;

export interface JobQuery {
  id: ItemId | null;
  text: string;
  /** Index into `sets`. */
  set: number;
}

/** A run of the flattened document list that a query is scored against. */
export interface DocumentSet {
  offset: number;
  count: number;
}

export interface WebhookTarget {
  url: string;
  secret: string | null;
}

export interface NormalizedJob {
  model: string;
  family: Family | undefined;
  queries: JobQuery[];
  sets: DocumentSet[];
  /** Every document once, sets one after the other. */
  documents: string[];
  /** Ids as given, or null when no document has one. */
  documentIds: (ItemId | null)[] | null;
  pairs: number;
  topK: number;
  returnDocuments: boolean;
  options: ScoreOverrides;
  webhook: WebhookTarget | null;
  metadata: JsonObject | null;
  /** Cohere's scale, 0 (default) the most urgent: the job's weight among queued jobs (queue/shard-priority.ts). */
  priority: number;
}

const JOB_FIELDS = ['model', 'query', 'documents', 'queries', 'top_k', 'return_documents', 'webhook', 'metadata', 'priority', ...ENGINE_OPTION_FIELDS];

export function validateTopK(v: unknown, field: string, maxTopK: number, fallback: number): number {
  if (v === undefined) return Math.min(fallback, maxTopK);
  if (!isInt(v) || v < 1 || v > maxTopK) {
    throw invalid(field, `expected an integer from 1 to ${maxTopK} (the limit RERANK_MAX_TOP_K), got ${describe(v)}`);
  }
  return v;
}

export function validateWebhook(v: unknown): WebhookTarget | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw invalid('webhook', `expected {"url": "https://...", "secret"?: "..."}, got ${describe(v)}`);
  rejectUnknownKeys(v, ['url', 'secret'], 'webhook', 'webhook');
  if (typeof v.url !== 'string') throw invalid('webhook.url', `expected an http(s) URL, got ${describe(v.url)}`);
  let url: URL;
  try {
    url = new URL(v.url);
  } catch {
    throw invalid('webhook.url', `"${v.url.slice(0, 200)}" is not a valid URL; send an absolute http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('webhook.url', `scheme "${url.protocol}" is not supported; use http:// or https://`);
  if (v.url.length > 2048) throw invalid('webhook.url', `at most 2048 characters, got ${v.url.length}`);
  // Credentials in the URL would be stored and shown with the job; sign deliveries with "secret" instead.
  if (url.username || url.password) throw invalid('webhook.url', 'credentials (user:password@) are not allowed in the URL; authenticate deliveries with "webhook.secret" (X-Rerank-Signature) instead');
  // Where the host points (loopback, private, ...) is checked by checkWebhookUrl, which resolves names.
  let secret: string | null = null;
  if (v.secret !== undefined && v.secret !== null) {
    if (typeof v.secret !== 'string' || v.secret.length < 8 || v.secret.length > 1024) {
      throw invalid('webhook.secret', `expected a string of 8 to 1024 characters (the HMAC key of X-Rerank-Signature), got ${typeof v.secret === 'string' ? `${v.secret.length} characters` : describe(v.secret)}`);
    }
    secret = v.secret;
  }
  return { url: url.toString(), secret };
}

/**
 * Nesting depth of a JSON value, walked with an explicit stack (recursion, JSON.stringify included,
 * overflows the call stack on a few thousand levels). Stops as soon as the depth passes `max`.
 */
export function jsonDepthExceeds(v: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (value === null || typeof value !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

function validateMetadata(v: unknown, limits: Limits): JsonObject | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw invalid('metadata', `expected an object (echoed back with the job), got ${describe(v)}`);
  const maxDepth = limits.maxMetadataDepth ?? DEFAULT_MAX_METADATA_DEPTH;
  const maxBytes = limits.maxMetadataBytes ?? MAX_METADATA_BYTES;
  if (jsonDepthExceeds(v, maxDepth)) {
    throw invalid('metadata', `nested more than ${maxDepth} levels deep (the limit RERANK_MAX_METADATA_DEPTH); send flatter metadata`);
  }
  const size = Buffer.byteLength(JSON.stringify(v));
  if (size > maxBytes) throw invalid('metadata', `${size} bytes as JSON; at most ${maxBytes} (the limit RERANK_MAX_METADATA_BYTES)`);
  return v;
}

export function validateJobRequest(input: unknown, ctx: ValidationContext): NormalizedJob {
  const { limits } = ctx;
  if (!isObject(input)) {
    throw invalid('', `the request body must be a JSON object (Content-Type: application/json) with "query" + "documents" or "queries", got ${describe(input)}`);
  }
  const body = withoutNulls(input, NULLABLE_ENGINE_FIELDS);
  rejectUnknownKeys(body, JOB_FIELDS, '', 'a job');
  const model = pickModel(body.model, ctx.models);

  const documents: string[] = [];
  const ids: (ItemId | null)[] = [];
  const queries: JobQuery[] = [];
  const sets: { offset: number; count: number }[] = [];

  if (body.query !== undefined) {
    if (body.queries !== undefined) throw invalid('queries', 'send either "query" (one query) or "queries" (several), not both');
    const text = checkText(body.query, 'query', limits, 'query', false);
    readDocuments(body.documents, 'documents', limits, documents, ids, true, 0);
    sets.push({ offset: 0, count: documents.length });
    queries.push({ id: null, text, set: 0 });
  } else if (body.queries !== undefined) {
    const list = body.queries;
    if (!Array.isArray(list)) throw invalid('queries', `expected a list of queries (strings or {"id"?, "query", "documents"?}), got ${describe(list)}`);
    if (list.length === 0) throw invalid('queries', 'the list is empty; send at least one query');
    if (list.length > limits.maxQueries) {
      throw overLimit('queries', `${list.length} queries`, { name: 'queries per job', value: limits.maxQueries, env: 'RERANK_MAX_QUERIES' }, 'split the work into several jobs');
    }
    const shared = body.documents !== undefined;
    if (shared) {
      readDocuments(body.documents, 'documents', limits, documents, ids, true, 0);
      sets.push({ offset: 0, count: documents.length });
    }
    for (let i = 0; i < list.length; i++) {
      const item: unknown = list[i];
      const where = `queries[${i}]`;
      if (typeof item === 'string') {
        if (!shared) throw invalid(where, 'a bare query string needs top-level "documents" shared by all queries; otherwise send {"query": "...", "documents": [...]}');
        queries.push({ id: null, text: checkText(item, where, limits, 'query', false), set: 0 });
        continue;
      }
      if (!isObject(item)) throw invalid(where, `expected a string or {"id"?, "query", "documents"?}, got ${describe(item)}`);
      rejectUnknownKeys(item, ['id', 'query', 'documents'], where, 'a query');
      const id = item.id === undefined ? null : checkId(item.id, `${where}.id`);
      if (item.query === undefined) throw invalid(`${where}.query`, 'missing; send the query text');
      const text = checkText(item.query, `${where}.query`, limits, 'query', false);
      if (shared) {
        if (item.documents !== undefined) throw invalid(`${where}.documents`, 'not allowed with top-level "documents" (shared by all queries); send documents per query or shared, not both');
        queries.push({ id, text, set: 0 });
      } else {
        if (item.documents === undefined) throw invalid(`${where}.documents`, 'missing; give each query its documents, or send top-level "documents" shared by all queries');
        const offset = documents.length;
        readDocuments(item.documents, `${where}.documents`, limits, documents, ids, true, offset);
        sets.push({ offset, count: documents.length - offset });
        queries.push({ id, text, set: sets.length - 1 });
      }
    }
    const seen = new Set<ItemId>();
    queries.forEach((q, i) => {
      if (q.id === null) return;
      if (seen.has(q.id)) throw invalid(`queries[${i}].id`, `duplicate query id ${JSON.stringify(q.id)}; query ids must be unique`);
      seen.add(q.id);
    });
  } else {
    throw invalid('query', 'missing; send "query" + "documents", or "queries": [{"query", "documents"}], or "queries" + shared "documents"');
  }

  let pairs = 0;
  for (const q of queries) pairs += sets[q.set].count;
  if (pairs > limits.maxPairs) {
    throw overLimit(body.query !== undefined ? 'documents' : 'queries', `${pairs} (query, document) pairs`, { name: 'pairs per job', value: limits.maxPairs, env: 'RERANK_MAX_PAIRS' }, 'split the work into several jobs');
  }

  const topK = validateTopK(body.top_k, 'top_k', limits.maxTopK, DEFAULT_TOP_K);
  const returnDocuments = optionalBool(body, 'return_documents', true);
  const options = readEngineOptions(body, model);
  const webhook = validateWebhook(body.webhook);
  const metadata = validateMetadata(body.metadata, limits);
  if (body.priority !== undefined && (!isInt(body.priority) || body.priority < 0)) {
    throw invalid('priority', `expected an integer from 0 (the default, most urgent) upward; a job of priority p gets a shard every 1 + p rounds (p above 9 counts as 9), got ${describe(body.priority)}`);
  }
  return {
    model: model.name,
    family: model.family,
    queries,
    sets,
    documents,
    documentIds: ids.some((x) => x !== null) ? ids : null,
    pairs,
    topK,
    returnDocuments,
    options,
    webhook,
    metadata,
    priority: (body.priority as number | undefined) ?? 0,
  };
}
