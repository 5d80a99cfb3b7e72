/**
 * Every HTTP body of the API, declared once (zod): the OpenAPI component schemas (apps/api/src/openapi.ts),
 * the TypeScript types of requests and responses, and the field lists and static bounds the
 * validation (../validation/*) checks. Limits set by configuration (documents per request, text
 * length, top_k) are checked by the validation against RerankConfig, and named in the descriptions.
 * `null` means absent on every request field (clients such as LangChain send it for unset fields).
 */
import { API_ENGINE_OPTIONS, type Field, fields } from '@rerank/engine';
import { z } from 'zod';

/** A request field: its schema with `null` accepted (meaning absent) and its doc. */
const opt = <S extends z.ZodType>(schema: S, description: string) => schema.nullable().optional().meta({ description });

/** Static bounds of request fields, used by the validation and shown in the schemas. */
export const REQUEST_FIELDS = {
  returnDocuments: fields.bool(),
  maxChunksPerDoc: fields.int(1, 100),
  maxTokensPerDoc: fields.int(1, 1_000_000),
  priority: fields.int(0, Number.MAX_SAFE_INTEGER),
  /** top_k (jobs, and in job answers) and top_n (requests): results per query; the validation holds it to RERANK_MAX_TOP_K. */
  topK: fields.int(1),
  rawScores: fields.bool(),
  truncate: fields.bool(),
} satisfies Record<string, Field>;

/** A job's top_k when its request sends none. */
export const DEFAULT_TOP_K = 10;

/** Cohere's default `max_tokens_per_doc` (v2). */
export const COHERE_MAX_TOKENS_PER_DOC = 4096;

export const ItemIdSchema = z
  .union([z.string().min(1).max(256), z.int()])
  .meta({ id: 'ItemId', description: 'An id of your own: a string of 1 to 256 characters or an integer', example: 'doc-1' });

/** The engine options a request may carry (snake_case), from the engine's contract. */
export const engineOptionShape: Record<string, z.ZodType> = Object.fromEntries(
  API_ENGINE_OPTIONS.map((o) => {
    const families = o.families ? ` Only for the ${o.families.join(' / ')} families; other models answer 400.` : '';
    const dflt = o.defaultText ? ` Default: ${o.defaultText}.` : '';
    return [o.field, o.check.schema.optional().meta({ description: `Engine option: ${o.description}.${families}${dflt}` })];
  }),
);

// ---- errors

export const LimitSchema = z.object({ name: z.string(), value: z.int(), env: z.string() }).meta({
  id: 'Limit',
  description: 'The limit a request exceeded and the variable that sets it',
  example: { name: 'documents per request', value: 100000, env: 'RERANK_MAX_DOCUMENTS' },
});

export const ErrorSchema = z
  .object({
    error: z
      .object({
        code: z.string().meta({
          description:
            'invalid_request, invalid_json, unauthorized, not_found, job_finished, job_not_completed, idempotency_conflict, limit_exceeded, too_large_for_sync, rate_limited, overloaded, unavailable, timeout, shutting_down, internal, ...',
        }),
        message: z.string().meta({ description: 'Starts with "<field>: " when a field is at fault, and says what to send instead' }),
        field: z.string().optional(),
        limit: LimitSchema.optional(),
        jobs_url: z.string().optional().meta({ description: 'Where to send work too large for a synchronous request' }),
      })
      .catchall(z.unknown()),
    message: z
      .string()
      .optional()
      .meta({ description: "The same message at the top level, on the routes whose clients read Cohere's shape" }),
  })
  .meta({
    id: 'Error',
    description: "Every error of the API (TEI's POST /rerank answers TeiError instead)",
    example: {
      error: {
        code: 'invalid_request',
        message: 'documents[3].text: expected the document as a string, got a number (5)',
        field: 'documents[3].text',
      },
    },
  });

// ---- synchronous rerank (Cohere v1 / v2, Jina, vLLM / Infinity)

export const RankedDocumentSchema = z.union([z.string(), z.object({ text: z.string().nullable().optional() }).catchall(z.unknown())]).meta({
  id: 'RankedDocument',
  description: 'A string, or an object with "text" or with the fields named in rank_fields (any other fields are returned as sent)',
  example: 'Paris is the capital of France.',
});

/**
 * Cohere v2's relevant_spans: a switch, a mode, or an object with the mode and its settings; the
 * cohere SDK's RerankRelevantSpans sends `{"mode": ..., "threshold"?, "max_spans"?}` (`type` is accepted too).
 */
export const RelevantSpansSchema = z.union([
  z.boolean(),
  z.enum(['enabled', 'disabled']),
  z.object({ mode: z.enum(['enabled', 'disabled']) }).catchall(z.unknown()),
  z.object({ type: z.enum(['enabled', 'disabled']) }).catchall(z.unknown()),
]);

export const RerankRequestSchema = z
  .object({
    model: opt(z.string(), 'A served model (GET /v1/models); optional when only one is served'),
    query: z.string().meta({ description: 'The query text (not empty)' }),
    documents: z
      .array(RankedDocumentSchema)
      .min(1)
      .meta({ description: 'Up to RERANK_SYNC_MAX_DOCUMENTS (default 10,000); more: 413 pointing to /v1/jobs' }),
    top_n: opt(REQUEST_FIELDS.topK.schema, 'How many results, best first (default: all; at most RERANK_MAX_TOP_K)'),
    return_documents: opt(REQUEST_FIELDS.returnDocuments.schema, 'Return each document as sent with its result (default false)'),
    rank_fields: opt(
      z.array(z.string().min(1).max(256)).min(1),
      'Cohere v1: fields of object documents to rank by, joined as "field: value" lines in this order',
    ),
    max_chunks_per_doc: opt(
      REQUEST_FIELDS.maxChunksPerDoc.schema,
      "Cohere v1: a long document is split into at most this many chunks that fit beside the query; its score is its best chunk's",
    ),
    max_tokens_per_doc: opt(
      REQUEST_FIELDS.maxTokensPerDoc.schema,
      `Cohere v2: each document is cut to this many tokens before scoring (default ${COHERE_MAX_TOKENS_PER_DOC} on /v2/rerank)`,
    ),
    priority: opt(REQUEST_FIELDS.priority.schema, 'Cohere v2: 0 (default) is the highest; 1..9 queue behind it'),
    relevant_spans: opt(
      RelevantSpansSchema,
      'Cohere v2 (Rerank 5 Context Focus): "disabled" (or false, or {"mode": "disabled"} as the cohere SDK sends it) is accepted; asking for spans is a 400, this service returns none',
    ),
    ...engineOptionShape,
  })
  .meta({
    id: 'RerankRequest',
    description:
      'POST /v1/rerank and /v2/rerank (Cohere v1 / v2 and Jina shapes); vLLM / Infinity POST /rerank also take raw_scores and truncate_prompt_tokens',
    example: {
      model: 'my-reranker',
      query: 'What is the capital of France?',
      documents: ['Paris is the capital of France.', 'Berlin is in Germany.'],
      top_n: 1,
      return_documents: true,
    },
  });

export const RerankResultSchema = z
  .object({
    index: z.int().meta({ description: 'Position of the document in the request' }),
    relevance_score: z
      .number()
      .meta({ description: 'Sigmoid of the model score (0..1), as Cohere and Jina; the raw score with normalize: false' }),
    document: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'With return_documents: the document as sent ({text} for a string)' }),
  })
  .meta({ id: 'RerankResult', example: { index: 0, relevance_score: 0.97, document: { text: 'Paris is the capital of France.' } } });

export const RerankResponseSchema = z
  .object({
    id: z.string(),
    results: z.array(RerankResultSchema).meta({ description: 'Best first (ties: lower index first)' }),
    meta: z.object({ api_version: z.object({ version: z.string() }), billed_units: z.object({ search_units: z.int() }) }),
    model: z.string(),
    usage: z.object({
      documents: z.int(),
      search_units: z.int(),
      total_tokens: z.int().meta({ description: 'Tokens the model read (Jina)' }),
      prompt_tokens: z.int().meta({ description: 'The same count, as Infinity names it' }),
    }),
  })
  .meta({
    id: 'RerankResponse',
    example: {
      id: '8f0c1c57-5a0e-4a52-9b7e-1b6a4c1e2f3a',
      results: [{ index: 0, relevance_score: 0.97 }],
      meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } },
      model: 'my-reranker',
      usage: { documents: 2, search_units: 1, total_tokens: 41, prompt_tokens: 41 },
    },
  });

// ---- asynchronous jobs

export const JobDocumentSchema = z.union([z.string(), z.object({ id: ItemIdSchema.optional(), text: z.string() }).strict()]).meta({
  id: 'JobDocument',
  description: 'A string, or {id?, text}; ids are unique within a list',
  example: { id: 'd1', text: 'Paris is the capital of France.' },
});

export const JobQuerySchema = z
  .union([
    z.string(),
    z.object({ id: ItemIdSchema.optional(), query: z.string(), documents: z.array(JobDocumentSchema).min(1).optional() }).strict(),
  ])
  .meta({
    id: 'JobQuery',
    description: 'A query string (with top-level documents), or {id?, query, documents?}',
    example: { id: 'q1', query: 'capital of France' },
  });

export const WebhookTargetSchema = z
  .object({
    url: z
      .url()
      .max(2048)
      .meta({ description: 'http(s) URL, no credentials; loopback / private hosts only when RERANK_WEBHOOK_ALLOWED_HOSTS allows them' }),
    secret: z.string().min(8).max(1024).nullable().optional().meta({ description: 'HMAC-SHA256 key of the X-Rerank-Signature header' }),
  })
  .strict()
  .meta({ id: 'WebhookTarget', example: { url: 'https://example.com/hooks/rerank', secret: 'a-long-shared-secret' } });

export const JobRequestSchema = z
  .object({
    model: opt(z.string(), 'A served model (GET /v1/models); optional when only one is served'),
    query: opt(z.string(), 'One query (with documents)'),
    documents: opt(z.array(JobDocumentSchema).min(1), 'Documents of the query, or shared by all queries'),
    queries: opt(
      z.array(JobQuerySchema).min(1),
      'Several queries, each with its documents or sharing top-level documents (at most RERANK_MAX_QUERIES)',
    ),
    top_k: opt(REQUEST_FIELDS.topK.schema, `Results per query (default ${DEFAULT_TOP_K}, at most RERANK_MAX_TOP_K)`),
    return_documents: opt(REQUEST_FIELDS.returnDocuments.schema, 'Include document texts in the top-k results (default true)'),
    webhook: opt(WebhookTargetSchema, 'Called once when the job ends (see the webhooks of this document)'),
    metadata: opt(
      z.record(z.string(), z.unknown()),
      'Echoed back with the job and its webhook (at most RERANK_MAX_METADATA_BYTES as JSON, RERANK_MAX_METADATA_DEPTH levels)',
    ),
    priority: opt(
      REQUEST_FIELDS.priority.schema,
      "Share among the same API key's queued jobs, 0 (default) the most urgent: a job of priority p gets 1 / (1 + p) of the work a priority-0 job gets (above 9 counts as 9); API keys share the workers equally",
    ),
    ...engineOptionShape,
  })
  .meta({
    id: 'JobRequest',
    description: 'Either query + documents, or queries (each with its documents), or queries + shared documents.',
    example: {
      model: 'my-reranker',
      queries: [{ id: 'q1', query: 'capital of France' }],
      documents: [{ id: 'd1', text: 'Paris is the capital of France.' }, 'Berlin is in Germany.'],
      top_k: 10,
      webhook: { url: 'https://example.com/hooks/rerank', secret: 'a-long-shared-secret' },
    },
  });

const ProgressSchema = z
  .object({ shards_done: z.int(), shards_total: z.int(), pairs_done: z.int(), pairs_total: z.int() })
  .meta({ id: 'JobProgress', example: { shards_done: 3, shards_total: 8, pairs_done: 3000, pairs_total: 8000 } });
const CountsSchema = z
  .object({ queries: z.int(), documents: z.int(), pairs: z.int() })
  .meta({ id: 'JobCounts', example: { queries: 1, documents: 8000, pairs: 8000 } });
const LinksSchema = z.object({ self: z.string(), results: z.string(), cancel: z.string() }).meta({
  id: 'JobLinks',
  example: {
    self: 'https://rerank.example.com/v1/jobs/job_01',
    results: 'https://rerank.example.com/v1/jobs/job_01/results',
    cancel: 'https://rerank.example.com/v1/jobs/job_01',
  },
});
const JobErrorSchema = z.object({ code: z.string(), message: z.string() }).nullable();
export const JobStatusSchema = z
  .enum(['queued', 'running', 'completed', 'failed', 'cancelled'])
  .meta({ id: 'JobStatus', example: 'completed' });

const exampleLinks = {
  self: 'https://rerank.example.com/v1/jobs/job_01',
  results: 'https://rerank.example.com/v1/jobs/job_01/results',
  cancel: 'https://rerank.example.com/v1/jobs/job_01',
};

const exampleJob = {
  id: 'job_01',
  object: 'rerank.job',
  status: 'running',
  model: 'my-reranker',
  created_at: '2025-01-01T12:00:00.000Z',
  started_at: '2025-01-01T12:00:01.000Z',
  finished_at: null,
  progress: { shards_done: 3, shards_total: 8, pairs_done: 3000, pairs_total: 8000 },
  counts: { queries: 1, documents: 8000, pairs: 8000 },
  top_k: 10,
  timings: { queued_ms: 1000, running_ms: 4000, total_ms: 5000 },
  error: null,
  metadata: null,
  webhook: null,
  links: exampleLinks,
};

export const JobSchema = z
  .object({
    id: z.string(),
    object: z.literal('rerank.job'),
    status: JobStatusSchema,
    model: z.string(),
    created_at: z.iso.datetime(),
    started_at: z.iso.datetime().nullable(),
    finished_at: z.iso.datetime().nullable(),
    progress: ProgressSchema,
    counts: CountsSchema,
    top_k: REQUEST_FIELDS.topK.schema,
    timings: z.object({ queued_ms: z.int().nullable(), running_ms: z.int().nullable(), total_ms: z.int().nullable() }),
    error: JobErrorSchema,
    metadata: z.record(z.string(), z.unknown()).nullable(),
    webhook: z
      .object({
        url: z.string(),
        state: z.enum(['pending', 'retrying', 'delivered', 'failed']),
        event: z.string().nullable(),
        attempts: z.int(),
        last_status: z.int().nullable(),
        last_error: z.string().nullable(),
        last_attempt_at: z.iso.datetime().nullable(),
        delivered_at: z.iso.datetime().nullable(),
      })
      .nullable(),
    links: LinksSchema,
  })
  .meta({ id: 'Job', example: exampleJob });

/** The 202 answer of POST /v1/jobs: what is known the moment the job is queued; GET /v1/jobs/{id} has the rest. */
export const JobAcceptedSchema = JobSchema.pick({
  id: true,
  object: true,
  status: true,
  model: true,
  created_at: true,
  counts: true,
  progress: true,
  links: true,
}).meta({
  id: 'JobAccepted',
  example: {
    id: exampleJob.id,
    object: exampleJob.object,
    status: 'queued',
    model: exampleJob.model,
    created_at: exampleJob.created_at,
    counts: exampleJob.counts,
    progress: { ...exampleJob.progress, shards_done: 0, pairs_done: 0 },
    links: exampleJob.links,
  },
});

export const JobListSchema = z
  .object({
    object: z.literal('list'),
    data: z
      .array(JobSchema)
      .meta({ description: "The caller's jobs, newest first (same creation time: larger id first), each as GET /v1/jobs/{id} shows it" }),
    has_more: z.boolean().meta({ description: 'More jobs match: ask again with cursor=next_cursor' }),
    next_cursor: z.string().nullable().meta({ description: 'Opaque; the cursor of the next page, null on the last one' }),
  })
  .meta({
    id: 'JobList',
    example: { object: 'list', data: [exampleJob], has_more: true, next_cursor: 'MTczNTczMjgwMDAwMC5qb2JfMDE' },
  });

export const RankedItemSchema = z
  .object({
    index: z.int(),
    id: ItemIdSchema.optional(),
    score: z.number().nullable().meta({ description: 'The ranking score (the last cutoff layer when several); null when not finite' }),
    scores: z.array(z.number()).optional().meta({ description: 'One score per cutoff layer, when several were asked for' }),
    document: z.object({ text: z.string() }).optional(),
  })
  .meta({ id: 'RankedItem', example: { index: 0, id: 'd1', score: 4.2, document: { text: 'Paris is the capital of France.' } } });

export const QueryResultSchema = z
  .object({
    query_index: z.int(),
    query_id: ItemIdSchema.optional(),
    query: z.string(),
    top_k: z.array(RankedItemSchema).meta({ description: 'Best first (ties: lower index first)' }),
    scores: z
      .array(z.union([z.number(), z.array(z.number())]))
      .optional()
      .meta({ description: 'With ?all=true (JSON form): every score in document order' }),
  })
  .meta({
    id: 'QueryResult',
    example: { query_index: 0, query_id: 'q1', query: 'capital of France', top_k: [{ index: 0, id: 'd1', score: 4.2 }] },
  });

export const JobResultsSchema = z
  .object({
    id: z.string(),
    object: z.literal('rerank.job.results'),
    model: z.string(),
    top_k: REQUEST_FIELDS.topK.schema,
    metadata: z.record(z.string(), z.unknown()).nullable(),
    results: z.array(QueryResultSchema),
  })
  .meta({
    id: 'JobResults',
    example: {
      id: 'job_01',
      object: 'rerank.job.results',
      model: 'my-reranker',
      top_k: 10,
      metadata: null,
      results: [{ query_index: 0, query_id: 'q1', query: 'capital of France', top_k: [{ index: 0, id: 'd1', score: 4.2 }] }],
    },
  });

/** GET /v1/jobs/{id}/events: the data of each Server-Sent Event (its `event:` name in the description). */
export const JobProgressEventSchema = z
  .object({
    status: JobStatusSchema,
    shards_done: z.int(),
    shards_total: z.int(),
    pairs_done: z.int(),
    pairs_total: z.int(),
    pairs_per_second: z.number().nullable().meta({ description: 'Over the shards after the first one; null until two shards are in' }),
    eta_seconds: z.number().nullable().meta({ description: 'Pairs left at pairs_per_second; null while that is' }),
  })
  .meta({
    id: 'JobProgressEvent',
    description: 'event: progress. At most one per RERANK_EVENTS_INTERVAL_MS (default 250 ms), when shards finished since the last one',
    example: {
      status: 'running',
      shards_done: 3,
      shards_total: 8,
      pairs_done: 3000,
      pairs_total: 8000,
      pairs_per_second: 1250.5,
      eta_seconds: 4,
    },
  });

export const PartialQuerySchema = z
  .object({
    query_index: z.int(),
    query_id: ItemIdSchema.optional(),
    top_k: z
      .array(RankedItemSchema.omit({ document: true }))
      .meta({ description: 'The best k so far, best first (ties: lower index first)' }),
  })
  .meta({ id: 'PartialQuery', example: { query_index: 0, query_id: 'q1', top_k: [{ index: 0, id: 'd1', score: 4.2 }] } });

export const JobPartialEventSchema = z
  .object({
    provisional: z.literal(true).meta({ description: 'Not final: shards are still being scored' }),
    shards_done: z.int(),
    shards_total: z.int(),
    results: z.array(PartialQuerySchema).meta({
      description:
        "The queries whose best k changed since the stream's previous event id (all queries with scores on a new stream): keep a map by query_index and replace its entries",
    }),
  })
  .meta({
    id: 'JobPartialEvent',
    description:
      'event: partial. A provisional top k can only improve: an entry leaves it only for a document with a higher score (or an equal score and a lower index), and once every shard is in it is the final top k',
    example: {
      provisional: true,
      shards_done: 3,
      shards_total: 8,
      results: [{ query_index: 0, query_id: 'q1', top_k: [{ index: 0, id: 'd1', score: 4.2 }] }],
    },
  });

export const JobEndEventSchema = z
  .object({
    job: JobSchema,
    results: z
      .array(QueryResultSchema)
      .nullable()
      .meta({ description: 'completed: exactly the `results` of GET /v1/jobs/{id}/results; failed, cancelled: null' }),
  })
  .meta({
    id: 'JobEndEvent',
    description: 'event: completed, failed or cancelled (id: end); the last event: the stream ends after it',
    example: {
      job: { ...exampleJob, status: 'completed', finished_at: '2025-01-01T12:00:09.000Z' },
      results: [{ query_index: 0, query_id: 'q1', query: 'capital of France', top_k: [{ index: 0, id: 'd1', score: 4.2 }] }],
    },
  });

export const ScoreLineSchema = z
  .object({
    query_index: z.int(),
    query_id: ItemIdSchema.optional(),
    index: z.int(),
    id: ItemIdSchema.optional(),
    score: z.number().nullable(),
    scores: z.array(z.number()).optional(),
  })
  .meta({
    id: 'ScoreLine',
    description: 'One line of the application/x-ndjson form of ?all=true: one pair, query by query in document order',
    example: { query_index: 0, query_id: 'q1', index: 0, id: 'd1', score: 4.2 },
  });

export const WebhookPayloadSchema = z
  .object({
    event: z.enum(['job.completed', 'job.failed', 'job.cancelled']),
    delivery_id: z.string().meta({ description: 'Also in X-Rerank-Delivery; the same for every retry of one delivery' }),
    id: z.string(),
    status: JobStatusSchema,
    model: z.string(),
    counts: CountsSchema,
    progress: ProgressSchema,
    created_at: z.iso.datetime(),
    finished_at: z.iso.datetime().nullable(),
    error: JobErrorSchema,
    metadata: z.record(z.string(), z.unknown()).nullable(),
    links: LinksSchema,
    results: z
      .array(QueryResultSchema)
      .optional()
      .meta({ description: 'Inline top-k when the job completed with at most RERANK_WEBHOOK_INLINE_MAX entries' }),
  })
  .meta({
    id: 'WebhookPayload',
    example: {
      event: 'job.completed',
      delivery_id: '42',
      id: 'job_01',
      status: 'completed',
      model: 'my-reranker',
      counts: { queries: 1, documents: 2, pairs: 2 },
      progress: { shards_done: 1, shards_total: 1, pairs_done: 2, pairs_total: 2 },
      created_at: '2025-01-01T12:00:00.000Z',
      finished_at: '2025-01-01T12:00:02.000Z',
      error: null,
      metadata: { batch: 7 },
      links: exampleLinks,
    },
  });

// ---- models, health

export const ModelListSchema = z
  .object({ object: z.literal('list'), data: z.array(z.object({ id: z.string() }).catchall(z.unknown())) })
  .meta({ id: 'ModelList', example: { object: 'list', data: [{ id: 'my-reranker', object: 'model', family: 'encoder' }] } });

export const HealthSchema = z
  .record(z.string(), z.unknown())
  .meta({ id: 'Health', description: 'Liveness / readiness details', example: { status: 'ok' } });

// ---- other servers' shapes

export const TeiRerankRequestSchema = z
  .object({
    model: opt(z.string(), 'A served model; optional when only one is served'),
    query: z.string(),
    texts: z.array(z.string()).min(1),
    raw_scores: opt(REQUEST_FIELDS.rawScores.schema, 'Raw model scores instead of the sigmoid (default false)'),
    return_text: opt(REQUEST_FIELDS.returnDocuments.schema, 'Return each text with its score (default false)'),
    truncate: opt(REQUEST_FIELDS.truncate.schema, 'Accepted; texts are always truncated to max_length tokens'),
    truncation_direction: opt(z.enum(['Right', 'Left']), 'Left keeps the end of a long text (default Right)'),
    top_n: opt(REQUEST_FIELDS.topK.schema, 'How many results, best first (default: all; at most RERANK_MAX_TOP_K)'),
    ...engineOptionShape,
  })
  .meta({
    id: 'TeiRerankRequest',
    description: "Hugging Face TEI's POST /rerank; as TEI, fields it does not use are ignored",
    example: { query: 'What is Deep Learning?', texts: ['Deep Learning is ...', 'cheese is made of milk'], return_text: true },
  });

export const VllmRerankRequestSchema = RerankRequestSchema.extend({
  raw_scores: opt(REQUEST_FIELDS.rawScores.schema, 'Infinity: raw model scores (normalize: false)'),
  truncate_prompt_tokens: opt(z.int().min(-1), "vLLM: tokens of query + document (max_length); -1 the model's limit"),
}).meta({
  id: 'VllmRerankRequest',
  description: 'vLLM / Infinity POST /rerank (Cohere-like, with documents)',
  example: {
    model: 'my-reranker',
    query: 'What is the capital of France?',
    documents: ['Paris is the capital of France.', 'Berlin is in Germany.'],
    top_n: 1,
  },
});

export const InfinityRerankResponseSchema = z
  .object({
    object: z.literal('rerank'),
    id: z.string(),
    created: z.int(),
    model: z.string(),
    results: z
      .array(
        z.object({
          index: z.int(),
          relevance_score: z.number(),
          document: z.string().optional().meta({ description: 'With return_documents: the text scored, as a string' }),
        }),
      )
      .meta({ description: 'Best first' }),
    usage: z.object({ prompt_tokens: z.int(), total_tokens: z.int() }),
  })
  .meta({
    id: 'InfinityRerankResponse',
    description: "Infinity's answer: each document as a plain string",
    example: {
      object: 'rerank',
      id: 'infinity-8f0c1c57',
      created: 1735732800,
      model: 'my-reranker',
      results: [{ index: 0, relevance_score: 0.97, document: 'Paris is the capital of France.' }],
      usage: { prompt_tokens: 41, total_tokens: 41 },
    },
  });

export const TeiRerankResponseSchema = z
  .array(z.object({ index: z.int(), score: z.number(), text: z.string().optional() }))
  .meta({ id: 'TeiRerankResponse', description: 'Best first', example: [{ index: 0, score: 0.98, text: 'Deep Learning is ...' }] });

export const TeiErrorSchema = z
  .object({ error: z.string(), error_type: z.enum(['validation', 'empty', 'overloaded', 'unhealthy', 'backend', 'tokenizer']) })
  .meta({ id: 'TeiError', example: { error: 'texts: the list is empty; send at least one text', error_type: 'empty' } });

export const TeiInfoSchema = z.record(z.string(), z.unknown()).meta({
  id: 'TeiInfo',
  description: "TEI's GET /info",
  example: { model_id: 'my-reranker', model_type: { reranker: { id2label: { '0': 'LABEL_0' } } } },
});

export const ScoreRequestSchema = z
  .object({
    model: opt(z.string(), 'A served model; optional when only one is served'),
    text_1: z.union([z.string(), z.array(z.string()).min(1)]).meta({ description: 'A query, or a list (pairwise with text_2)' }),
    text_2: z
      .union([z.string(), z.array(z.string()).min(1)])
      .meta({ description: 'One text or a list (one-to-many with a single text_1)' }),
    truncate_prompt_tokens: opt(z.int().min(-1), "Tokens of query + document (max_length); -1 the model's limit"),
    encoding_format: opt(z.string(), 'Accepted for compatibility'),
    user: opt(z.string(), 'Accepted for compatibility'),
    ...engineOptionShape,
  })
  .meta({
    id: 'ScoreRequest',
    description: "vLLM's POST /score and /v1/score",
    example: {
      model: 'my-reranker',
      text_1: 'What is the capital of France?',
      text_2: ['Paris is the capital of France.', 'Berlin is in Germany.'],
    },
  });

export const ScoreResponseSchema = z
  .object({
    id: z.string(),
    object: z.literal('list'),
    created: z.int(),
    model: z.string(),
    data: z.array(z.object({ index: z.int(), object: z.literal('score'), score: z.number() })),
    usage: z.object({ prompt_tokens: z.int(), total_tokens: z.int(), completion_tokens: z.int() }),
  })
  .meta({
    id: 'ScoreResponse',
    example: {
      id: 'score-abc',
      object: 'list',
      created: 1735732800,
      model: 'my-reranker',
      data: [{ index: 0, object: 'score', score: 0.97 }],
      usage: { prompt_tokens: 30, total_tokens: 30, completion_tokens: 0 },
    },
  });

/** Field names of each request body: what the validation accepts and nothing else. */
export const fieldNames = (schema: z.ZodObject): string[] => Object.keys(schema.shape);

// Types of the wire format, from the schemas.
export type RerankRequest = z.input<typeof RerankRequestSchema>;
export type RerankResponse = z.output<typeof RerankResponseSchema>;
export type JobRequest = z.input<typeof JobRequestSchema>;
export type JobBody = z.output<typeof JobSchema>;
export type JobAcceptedBody = z.output<typeof JobAcceptedSchema>;
export type JobListBody = z.output<typeof JobListSchema>;
export type JobResults = z.output<typeof JobResultsSchema>;
export type ScoreLine = z.output<typeof ScoreLineSchema>;
export type JobProgressEvent = z.output<typeof JobProgressEventSchema>;
export type JobPartialEvent = z.output<typeof JobPartialEventSchema>;
export type JobEndEvent = z.output<typeof JobEndEventSchema>;
/** The events of GET /v1/jobs/{id}/events by name, with their data. */
export type JobEvent =
  | { event: 'progress'; id: string | null; data: JobProgressEvent }
  | { event: 'partial'; id: string | null; data: JobPartialEvent }
  | { event: 'completed' | 'failed' | 'cancelled'; id: string | null; data: JobEndEvent };
export type WebhookPayloadBody = z.output<typeof WebhookPayloadSchema>;
export type ErrorBody = z.output<typeof ErrorSchema>;
export type TeiRerankRequest = z.input<typeof TeiRerankRequestSchema>;
export type InfinityRerankResponse = z.output<typeof InfinityRerankResponseSchema>;
export type ScoreRequest = z.input<typeof ScoreRequestSchema>;
export type ScoreResponse = z.output<typeof ScoreResponseSchema>;
