/**
 * POST /v1/jobs: the body checked and normalized, or an ApiError naming the field and the fix.
 * Pure: nothing here touches Redis, so a refused request leaves nothing behind.
 */
import type { Family, ScoreOverrides } from '@rerank/engine';
import type { Limits } from '../config';
import { invalid, overLimit } from '../errors';
import { describe, type JsonObject } from './common';
import { checkText, type ItemId, readDocuments, type ValidationContext } from './documents';
import { readEngineOptions } from './engine-options';
import { DEFAULT_TOP_K, fieldNames, JobRequestSchema, REQUEST_FIELDS, WebhookTargetSchema } from '../contract/http-bodies';
import { type BodyWords, type FieldWords, issueToError, runSchema } from './issues';
import { commonFieldWords, parseRequest } from './request-body';

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
  /** Cohere's scale, 0 (default) the most urgent: the job's weight among its tenant's jobs (schedule.ts, priorityWeight). */
  priority: number;
}

const JOB_FIELDS = fieldNames(JobRequestSchema);
const JOB_SCHEMA = JobRequestSchema.strict();

const JOB_DOCUMENT = 'a string or {"id"?: ..., "text": "..."}';

/** Wording of a list of job documents at `at` (`documents`, `queries[].documents`). */
export function jobDocumentWords(at: string): Record<string, FieldWords> {
  return {
    [at]: {
      missing: 'send a list of documents (strings or {"text": "..."})',
      expect: 'a list of documents (strings or {"text": "..."})',
      empty: 'send at least one document',
    },
    [`${at}[]`]: { expect: JOB_DOCUMENT, unknown: `unknown field; a document is ${JOB_DOCUMENT}` },
    [`${at}[].text`]: { missing: `a document is ${JOB_DOCUMENT}`, expect: 'document as a string' },
    [`${at}[].id`]: { message: idMessage },
  };
}

export function idMessage(v: unknown): string {
  return typeof v === 'string'
    ? `expected an id of 1 to 256 characters, got ${v.length}`
    : `expected a string or an integer, got ${describe(v)}`;
}

/** "expected an integer from 1 to <RERANK_MAX_TOP_K>" for top_k / top_n (its type by the contract, its bound by configuration). */
export function topKWords(maxTopK: number): FieldWords {
  return { message: (v) => `expected an integer from 1 to ${maxTopK} (the limit RERANK_MAX_TOP_K), got ${describe(v)}` };
}

const WEBHOOK_WORDS: Record<string, FieldWords> = {
  webhook: { expect: '{"url": "https://...", "secret"?: "..."}', unknownIn: 'webhook', known: fieldNames(WebhookTargetSchema) },
  'webhook.url': {
    message: (v, issue) => {
      if (typeof v !== 'string') return `expected an http(s) URL, got ${describe(v)}`;
      if (issue.code === 'too_big') return `at most 2048 characters, got ${v.length}`;
      return `"${v.slice(0, 200)}" is not a valid URL; send an absolute http:// or https:// URL`;
    },
  },
  'webhook.secret': {
    message: (v) =>
      `expected a string of 8 to 1024 characters (the HMAC key of X-Rerank-Signature), got ${typeof v === 'string' ? `${v.length} characters` : describe(v)}`,
  },
};

function jobWords(ctx: ValidationContext): BodyWords {
  return {
    body: 'with "query" + "documents" or "queries"',
    what: 'a job',
    known: JOB_FIELDS,
    fields: {
      ...commonFieldWords(ctx.models),
      query: { expect: 'query as a string' },
      ...jobDocumentWords('documents'),
      queries: { expect: 'a list of queries (strings or {"id"?, "query", "documents"?})', empty: 'send at least one query' },
      'queries[]': { expect: 'a string or {"id"?, "query", "documents"?}', unknownIn: 'a query', known: ['id', 'query', 'documents'] },
      'queries[].id': { message: idMessage },
      'queries[].query': { missing: 'send the query text', expect: 'query as a string' },
      ...jobDocumentWords('queries[].documents'),
      top_k: topKWords(ctx.limits.maxTopK),
      return_documents: { field: REQUEST_FIELDS.returnDocuments },
      ...WEBHOOK_WORDS,
      metadata: { expect: 'an object (echoed back with the job)' },
      priority: {
        expect:
          'an integer from 0 (the default, most urgent) upward; a job of priority p gets 1 / (1 + p) of the work a priority-0 job of the same key gets (p above 9 counts as 9)',
      },
    },
  };
}

/**
 * top_k / top_n within the configured limit (the contract checked it is an integer >= 1); `absent`
 * when the request sends none, which the limit does not cut: that default is the route's promise
 * (a job's DEFAULT_TOP_K, every document of a synchronous request), not the client's ask.
 */
export function validateTopK(v: number | undefined, field: string, maxTopK: number, absent: number): number {
  if (v === undefined) return absent;
  if (v > maxTopK) throw invalid(field, topKWords(maxTopK).message!(v, undefined as never));
  return v;
}

const WEBHOOK_ONLY = JobRequestSchema.pick({ webhook: true });

/** A webhook target: its shape by the contract, then what a URL must not be (another scheme, credentials). */
export function validateWebhook(v: unknown): WebhookTarget | null {
  const body = { webhook: v };
  const { data, issue } = runSchema(WEBHOOK_ONLY, body);
  if (issue) throw issueToError(issue, { body: '', what: 'a job', known: JOB_FIELDS, fields: WEBHOOK_WORDS }, body);
  return webhookTarget(data?.webhook ?? null);
}

function webhookTarget(v: { url: string; secret?: string | null } | null): WebhookTarget | null {
  if (v === null) return null;
  const url = new URL(v.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('webhook.url', `scheme "${url.protocol}" is not supported; use http:// or https://`);
  // Credentials in the URL would be stored and shown with the job; sign deliveries with "secret" instead.
  if (url.username || url.password)
    throw invalid(
      'webhook.url',
      'credentials (user:password@) are not allowed in the URL; authenticate deliveries with "webhook.secret" (X-Rerank-Signature) instead',
    );
  // Where the host points (loopback, private, ...) is checked by checkWebhookUrl, which resolves names.
  return { url: url.toString(), secret: v.secret ?? null };
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

function validateMetadata(v: JsonObject | undefined | null, limits: Limits): JsonObject | null {
  if (v === undefined || v === null) return null;
  const { maxMetadataDepth: maxDepth, maxMetadataBytes: maxBytes } = limits;
  if (jsonDepthExceeds(v, maxDepth)) {
    throw invalid('metadata', `nested more than ${maxDepth} levels deep (the limit RERANK_MAX_METADATA_DEPTH); send flatter metadata`);
  }
  const size = Buffer.byteLength(JSON.stringify(v));
  if (size > maxBytes) throw invalid('metadata', `${size} bytes as JSON; at most ${maxBytes} (the limit RERANK_MAX_METADATA_BYTES)`);
  return v;
}

export function validateJobRequest(input: unknown, ctx: ValidationContext): NormalizedJob {
  const { limits } = ctx;
  const { body, model } = parseRequest(JOB_SCHEMA, input, jobWords(ctx), ctx.models);

  const documents: string[] = [];
  const ids: (ItemId | null)[] = [];
  const queries: JobQuery[] = [];
  const sets: { offset: number; count: number }[] = [];

  // Which of the three forms, and the configured limits; each part's shape is the contract's.
  if (body.query != null) {
    if (body.queries != null) throw invalid('queries', 'send either "query" (one query) or "queries" (several), not both');
    const text = checkText(body.query, 'query', limits, 'query', false);
    if (body.documents == null) throw invalid('documents', 'missing; send a list of documents (strings or {"text": "..."})');
    readDocuments(body.documents, 'documents', limits, documents, ids, 0);
    sets.push({ offset: 0, count: documents.length });
    queries.push({ id: null, text, set: 0 });
  } else if (body.queries != null) {
    const list = body.queries;
    if (list.length > limits.maxQueries) {
      throw overLimit(
        'queries',
        `${list.length} queries`,
        { name: 'queries per job', value: limits.maxQueries, env: 'RERANK_MAX_QUERIES' },
        'split the work into several jobs',
      );
    }
    const shared = body.documents != null;
    if (body.documents != null) {
      readDocuments(body.documents, 'documents', limits, documents, ids, 0);
      sets.push({ offset: 0, count: documents.length });
    }
    list.forEach((item, i) => {
      const where = `queries[${i}]`;
      if (typeof item === 'string') {
        if (!shared)
          throw invalid(
            where,
            'a bare query string needs top-level "documents" shared by all queries; otherwise send {"query": "...", "documents": [...]}',
          );
        queries.push({ id: null, text: checkText(item, where, limits, 'query', false), set: 0 });
        return;
      }
      const id = item.id ?? null;
      const text = checkText(item.query, `${where}.query`, limits, 'query', false);
      if (shared) {
        if (item.documents !== undefined)
          throw invalid(
            `${where}.documents`,
            'not allowed with top-level "documents" (shared by all queries); send documents per query or shared, not both',
          );
        queries.push({ id, text, set: 0 });
      } else {
        if (item.documents === undefined)
          throw invalid(
            `${where}.documents`,
            'missing; give each query its documents, or send top-level "documents" shared by all queries',
          );
        const offset = documents.length;
        readDocuments(item.documents, `${where}.documents`, limits, documents, ids, offset);
        sets.push({ offset, count: documents.length - offset });
        queries.push({ id, text, set: sets.length - 1 });
      }
    });
    const seen = new Set<ItemId>();
    queries.forEach((q, i) => {
      if (q.id === null) return;
      if (seen.has(q.id)) throw invalid(`queries[${i}].id`, `duplicate query id ${JSON.stringify(q.id)}; query ids must be unique`);
      seen.add(q.id);
    });
  } else {
    throw invalid(
      'query',
      'missing; send "query" + "documents", or "queries": [{"query", "documents"}], or "queries" + shared "documents"',
    );
  }

  let pairs = 0;
  for (const q of queries) pairs += sets[q.set].count;
  if (pairs > limits.maxPairs) {
    throw overLimit(
      body.query != null ? 'documents' : 'queries',
      `${pairs} (query, document) pairs`,
      { name: 'pairs per job', value: limits.maxPairs, env: 'RERANK_MAX_PAIRS' },
      'split the work into several jobs',
    );
  }

  const topK = validateTopK(body.top_k ?? undefined, 'top_k', limits.maxTopK, Math.min(DEFAULT_TOP_K, limits.maxTopK));
  const returnDocuments = body.return_documents ?? true;
  const options = readEngineOptions(body, model);
  const webhook = webhookTarget(body.webhook ?? null);
  const metadata = validateMetadata(body.metadata, limits);
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
    priority: body.priority ?? 0,
  };
}
