/**
 * The OpenAPI 3.1 document, generated from the contract (@rerank/jobs contract/http-bodies.ts, whose
 * engine options come from the engine's contract): named component schemas with examples, every
 * status each route answers, the webhooks with their signature headers, NDJSON results. Served at
 * /openapi.json (and /openapi.yaml) with the UI at /docs; linted with Redocly's recommended rules in
 * test/api/openapi.spec.ts.
 */
import type { INestApplication } from '@nestjs/common';
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { OpenAPIObject } from '@nestjs/swagger';
import { SwaggerModule } from '@nestjs/swagger';
import {
  ATTEMPT_HEADER,
  DELIVERY_HEADER,
  ErrorSchema,
  EVENT_HEADER,
  HealthSchema,
  JobRequestSchema,
  JobListSchema,
  JobResultsSchema,
  JobAcceptedSchema,
  JobSchema,
  JobEndEventSchema,
  JobPartialEventSchema,
  JobProgressEventSchema,
  JOB_LIST_DEFAULT_LIMIT,
  JOB_LIST_MAX_LIMIT,
  JOB_STATUSES,
  ModelListSchema,
  RerankRequestSchema,
  RerankResponseSchema,
  InfinityRerankResponseSchema,
  ScoreLineSchema,
  ScoreRequestSchema,
  ScoreResponseSchema,
  SIGNATURE_HEADER,
  TeiErrorSchema,
  TeiInfoSchema,
  TeiRerankRequestSchema,
  TeiRerankResponseSchema,
  VllmRerankRequestSchema,
  WebhookPayloadSchema,
} from '@rerank/jobs';
import { z } from 'zod';
import { type OperationId, ROUTES } from './routes';

const json = (schema: z.ZodType) => ({ 'application/json': { schema } });

/** What each error status means, shared by the routes that answer it. */
const ERROR_MEANING: Record<number, string> = {
  400: 'A field is missing or wrong (error.field names it; the message says what to send); nothing was queued',
  401: 'No API key, or not one of RERANK_API_KEYS (Authorization: Bearer <key>)',
  404: 'No such job for this API key (or its results have expired)',
  409: 'The job is not in a state that allows this',
  413: 'The request body or a configured limit is too large (error.limit names the limit and its variable)',
  415: 'The body is not application/json',
  429: 'Rate limit or active-jobs quota of this API key (Retry-After says when to come back)',
  503: 'Overloaded (Redis near its memory limit, too many pending pairs), or the job store is unreachable or refusing writes (OOM, MISCONF, READONLY); nothing was done (Retry-After)',
  504: 'The synchronous request did not finish in time (RERANK_SYNC_TIMEOUT_MS); submit large work as a job (POST /v1/jobs)',
};

const retryAfter = z.int().meta({ description: 'Seconds to wait before retrying', example: 5 });

function errors(statuses: number[], schema: z.ZodType = ErrorSchema): Record<number, ResponseConfig> {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: ERROR_MEANING[s],
        content: json(schema),
        ...(s === 429 || s === 503 ? { headers: z.object({ 'Retry-After': retryAfter }) } : {}),
      },
    ]),
  );
}

/** Node's HTTP server refuses some requests before any route sees them, on every path. */
const BEFORE_ROUTING: Record<string, ResponseConfig> = {
  '4XX': { description: 'Refused by the HTTP server before routing, without a body: a malformed request (400) or headers too large (431)' },
};

const jobId = z.object({ id: z.string().meta({ description: 'The job id from POST /v1/jobs', example: 'job_01' }) });
const SYNC_ERRORS = [400, 401, 413, 415, 429, 503, 504];

/** A route's method, path and operation id, from the one table (routes.ts). */
const route = (id: OperationId) => ({ method: ROUTES[id].method, path: ROUTES[id].path, operationId: id });

function routes(): RouteConfig[] {
  return [
    {
      ...route('rerankV1'),
      tags: ['rerank'],
      summary: 'Rerank documents for a query (Cohere v1 / Jina shape)',
      description:
        'Synchronous: scored by the workers ahead of queued jobs. Relevance scores are the sigmoid of the model score unless normalize: false.',
      request: { body: { content: json(RerankRequestSchema), required: true } },
      responses: { 200: { description: 'Results, best first', content: json(RerankResponseSchema) }, ...errors(SYNC_ERRORS) },
    },
    {
      ...route('rerankV2'),
      tags: ['rerank'],
      summary: 'Rerank documents for a query (Cohere v2 shape)',
      description: 'As /v1/rerank; max_tokens_per_doc defaults to 4096 and priority orders synchronous requests.',
      request: { body: { content: json(RerankRequestSchema), required: true } },
      responses: { 200: { description: 'Results, best first', content: json(RerankResponseSchema) }, ...errors(SYNC_ERRORS) },
    },
    {
      ...route('createJob'),
      tags: ['jobs'],
      summary: 'Submit an asynchronous rerank job',
      description:
        'Answers 202 once the job is durably queued; a job is visible (GET, listing) only from then on. The same Idempotency-Key and body give the same job (200); the same key with another body 409 idempotency_key_reused. While the first request with a key is still creating its job, 409 idempotency_key_in_use with Retry-After; a request that died before queueing its job frees its key within RERANK_IDEMPOTENCY_LEASE_MS, so retrying after a lost answer is always safe.',
      request: {
        headers: z.object({
          'Idempotency-Key': z
            .string()
            .min(1)
            .max(255)
            .optional()
            .meta({ description: '1 to 255 visible ASCII characters, e.g. a UUID', example: '3f1c0a9e-6d0b-4c1e-9b8a-2f7c5d4e3a21' }),
        }),
        body: { content: json(JobRequestSchema), required: true },
      },
      responses: {
        202: { description: 'Queued (GET /v1/jobs/{id} has the full view)', content: json(JobAcceptedSchema) },
        200: { description: 'Replay of an Idempotency-Key: the existing job', content: json(JobSchema) },
        ...errors([400, 401, 413, 415, 429, 503]),
        409: {
          description: 'Idempotency-Key already used with another body, or its first request is still creating the job (Retry-After)',
          content: json(ErrorSchema),
        },
      },
    },
    {
      ...route('listJobs'),
      tags: ['jobs'],
      summary: "The caller's jobs, newest first, a page at a time",
      description:
        'Only the jobs of the API key that asks (as GET /v1/jobs/{id}). Pages: pass next_cursor as cursor until has_more is false. ' +
        'Finished jobs drop out when they expire (RERANK_RESULT_TTL_SECONDS); each key lists its newest RERANK_JOB_LIST_MAX jobs. Unknown or repeated parameters are refused.',
      request: {
        query: z.object({
          limit: z
            .int()
            .min(1)
            .max(JOB_LIST_MAX_LIMIT)
            .optional()
            .meta({ description: `Jobs per page, 1 to ${JOB_LIST_MAX_LIMIT} (default ${JOB_LIST_DEFAULT_LIMIT})`, example: 20 }),
          cursor: z.string().optional().meta({ description: 'next_cursor of the previous page', example: 'MTczNTczMjgwMDAwMC5qb2JfMDE' }),
          status: z
            .string()
            .optional()
            .meta({ description: `Only jobs in these statuses, comma separated: ${JOB_STATUSES.join(', ')}`, example: 'completed,failed' }),
          created_after: z.iso
            .datetime({ offset: true })
            .optional()
            .meta({ description: 'Only jobs created strictly after this RFC 3339 date-time', example: '2025-01-01T00:00:00Z' }),
          created_before: z.iso
            .datetime({ offset: true })
            .optional()
            .meta({ description: 'Only jobs created strictly before this RFC 3339 date-time', example: '2025-01-02T00:00:00Z' }),
        }),
      },
      responses: { 200: { description: 'A page of jobs', content: json(JobListSchema) }, ...errors([400, 401, 429, 503]) },
    },
    {
      ...route('getJob'),
      tags: ['jobs'],
      summary: 'Status, progress, timings, error and webhook delivery of a job',
      request: { params: jobId },
      responses: { 200: { description: 'The job', content: json(JobSchema) }, ...errors([401, 404, 429, 503]) },
    },
    {
      ...route('cancelJob'),
      tags: ['jobs'],
      summary: 'Cancel a job',
      description: 'Shards not started never run; the job ends cancelled and its webhook says so.',
      request: { params: jobId },
      responses: { 200: { description: 'The cancelled job', content: json(JobSchema) }, ...errors([401, 404, 409, 429, 503]) },
    },
    {
      ...route('getJobResults'),
      tags: ['jobs'],
      summary: 'Top-k per query, best first (ties: lower index first)',
      description:
        '?all=true adds every score: as JSON lines (application/x-ndjson, one ScoreLine per pair, the default, any job size), or with format=json ' +
        'as one JSON document, each result with its "scores" in document order (built whole in memory: meant for small jobs). Without all=true, format changes nothing.',
      request: {
        params: jobId,
        query: z.object({
          all: z.enum(['true', 'false', '1', '0']).optional().meta({ description: 'Every score, not only the top-k', example: 'true' }),
          format: z
            .enum(['json', 'jsonl'])
            .optional()
            .meta({ description: 'With all=true: one JSON document, or JSON lines', example: 'jsonl' }),
        }),
      },
      responses: {
        200: {
          description: 'Results (JSON), or every score as JSON lines',
          content: { 'application/json': { schema: JobResultsSchema }, 'application/x-ndjson': { schema: ScoreLineSchema } },
        },
        ...errors([400, 401, 404, 429, 503]),
        409: { description: 'The job has not completed (or failed, or was cancelled): it has no results', content: json(ErrorSchema) },
      },
    },
    {
      ...route('getJobEvents'),
      tags: ['jobs'],
      summary: 'Watch a job: its progress and best results so far, as Server-Sent Events, until it ends',
      description:
        "A text/event-stream (curl -N, EventSource, or the typed client's watchJob). Events: `progress` (JobProgressEvent, at most one per " +
        'RERANK_EVENTS_INTERVAL_MS), `partial` (JobPartialEvent: the provisional best k of the queries whose best k changed; it can only improve, ' +
        "and once every shard is in it is the final top k), then one `completed`, `failed` or `cancelled` (JobEndEvent; a completed job's `results` " +
        'are exactly those of GET /v1/jobs/{id}/results) with id `end`, after which the stream ends. A job that already ended gets its final event at once. ' +
        'Comment lines (`: keep-alive`) every RERANK_EVENTS_HEARTBEAT_MS keep proxies from closing a quiet stream. Every event batch carries an `id:`; ' +
        'a reconnect that sends it back as Last-Event-ID (EventSource does) gets only what changed after it, from any API replica; sending `end` back gets 204.',
      request: {
        params: jobId,
        headers: z.object({
          'last-event-id': z.string().optional().meta({
            description: "The last event id received: resume after it ('end': the stream is over, 204)",
            example: '1733600000000-0',
          }),
        }),
      },
      responses: {
        200: {
          description:
            "The event stream; each event's data is one of the schemas below, by its event name (progress, partial, completed / failed / cancelled)",
          content: { 'text/event-stream': { schema: JobStreamEventSchema } },
        },
        204: { description: "Last-Event-ID was the final event's (`end`): nothing follows" },
        ...errors([400, 401, 404, 429, 503]),
      },
    },
    {
      ...route('jobPage'),
      tags: ['jobs'],
      summary: 'The job page, for a browser: progress, the live best k per query, the final results and a download of all scores',
      description:
        'An HTML page with one script (/assets/job-page.js) and style (/assets/job-page.css), none of which carries job data: they are served ' +
        "without a key. The script reads GET /v1/jobs/{id} and its events with the key it asks for on a 401 (kept in the page's memory only). " +
        "Content-Security-Policy: this origin's script, style and requests only.",
      security: [],
      request: { params: jobId },
      responses: { 200: { description: 'The page', content: { 'text/html': { schema: z.string() } } }, ...BEFORE_ROUTING },
    },
    ...(
      [
        ['jobPageScript', 'text/javascript', 'script'],
        ['jobPageStyle', 'text/css', 'style sheet'],
      ] as const
    ).map(([id, type, what]): RouteConfig => ({
      ...route(id),
      tags: ['jobs'],
      summary: `The job page's ${what}`,
      security: [],
      responses: { 200: { description: `The ${what}`, content: { [type]: { schema: z.string() } } }, ...BEFORE_ROUTING },
    })),
    {
      ...route('listModels'),
      tags: ['models'],
      summary: 'Served models, their family, and the workers that have them loaded',
      responses: { 200: { description: 'The models', content: json(ModelListSchema) }, ...errors([401, 429, 503]) },
    },
    {
      ...route('live'),
      tags: ['health'],
      summary: 'The process is up',
      security: [],
      responses: { 200: { description: 'Up', content: json(HealthSchema) }, ...BEFORE_ROUTING },
    },
    {
      ...route('ready'),
      tags: ['health'],
      summary: 'Redis reachable and at least one worker has the models loaded',
      security: [],
      responses: {
        200: { description: 'Ready', content: json(HealthSchema) },
        ...BEFORE_ROUTING,
        503: { description: 'Not ready (the body says why)', content: json(HealthSchema) },
      },
    },
    {
      ...route('rerankCompat'),
      tags: ['compatibility'],
      summary: "TEI's or vLLM's rerank",
      description:
        'A body with "texts" is TEI\'s ({query, texts, top_n?} → [{index, score, text?}], TEI\'s errors and statuses; fields TEI does not use are ignored, as TEI does); one with "documents" is vLLM\'s (Cohere-like answer). Infinity\'s clients use /infinity/rerank.',
      request: { body: { content: json(z.union([TeiRerankRequestSchema, VllmRerankRequestSchema])), required: true } },
      responses: {
        200: {
          description: 'TEI: [{index, score, text?}] best first; vLLM: the Cohere-like answer',
          content: json(z.union([TeiRerankResponseSchema, RerankResponseSchema])),
        },
        400: {
          description: 'TEI: empty input (error_type "empty"); vLLM: a field is wrong',
          content: json(z.union([TeiErrorSchema, ErrorSchema])),
        },
        401: { description: ERROR_MEANING[401], content: json(ErrorSchema) },
        413: {
          description: 'TEI: validation error (error_type "validation"); vLLM: too large',
          content: json(z.union([TeiErrorSchema, ErrorSchema])),
        },
        424: { description: 'TEI: the backend failed (error_type "backend")', content: json(TeiErrorSchema) },
        429: { description: 'TEI: overloaded; vLLM: rate limited', content: json(z.union([TeiErrorSchema, ErrorSchema])) },
        503: {
          description: 'TEI: unhealthy; vLLM: overloaded or unavailable',
          content: json(z.union([TeiErrorSchema, ErrorSchema])),
        },
        504: { description: ERROR_MEANING[504], content: json(ErrorSchema) },
      },
    },
    {
      ...route('rerankInfinity'),
      tags: ['compatibility'],
      summary: "Infinity's rerank (base URL <this API>/infinity)",
      description:
        "vLLM's body ({query, documents, top_n, return_documents, raw_scores}); the answer is Infinity's: each document returned as a plain string, usage {prompt_tokens, total_tokens}.",
      request: { body: { content: json(VllmRerankRequestSchema), required: true } },
      responses: { 200: { description: 'Results, best first', content: json(InfinityRerankResponseSchema) }, ...errors(SYNC_ERRORS) },
    },
    {
      ...route('teiInfo'),
      tags: ['compatibility'],
      summary: "TEI's model information",
      responses: { 200: { description: 'Model information', content: json(TeiInfoSchema) }, ...errors([401]) },
    },
    ...(['score', 'scoreV1'] as const).map((id): RouteConfig => ({
      ...route(id),
      tags: ['compatibility'],
      summary: id === 'score' ? "vLLM's score API" : "vLLM's score API (OpenAI-style path)",
      description:
        '{model, text_1, text_2}: one-to-one, one-to-many (text_1 a string) or pairwise (two lists of one length) → {data: [{index, score}], usage}.',
      request: { body: { content: json(ScoreRequestSchema), required: true } },
      responses: { 200: { description: 'Scores in input order', content: json(ScoreResponseSchema) }, ...errors(SYNC_ERRORS) },
    })),
  ];
}

const webhookHeaders = z.object({
  [SIGNATURE_HEADER]: z.string().optional().meta({
    description:
      'With a webhook secret: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>. Check it and the age of t before trusting the body.',
    example: 't=1735732800,v1=5d41402abc4b2a76b9719d911017c592',
  }),
  [DELIVERY_HEADER]: z
    .string()
    .meta({ description: 'The delivery id (also in the body); the same on every retry: deduplicate on it', example: '42' }),
  [EVENT_HEADER]: z
    .enum(['job.completed', 'job.failed', 'job.cancelled'])
    .meta({ description: 'The event (also in the body)', example: 'job.completed' }),
  [ATTEMPT_HEADER]: z.string().meta({
    description:
      'Attempt number, from 1, counted when the attempt starts (one cut short by an aggregator stop counts): delivery is at least once',
    example: '1',
  }),
});

/** The data schemas of the job event stream, each a component of its own (JobStreamEvent's `data` names them). */
const JOB_EVENT_DATA = [JobProgressEventSchema, JobPartialEventSchema, JobEndEventSchema];
const JOB_EVENT_NAMES = JOB_EVENT_DATA.map((schema) => schema.meta()?.id as string);

/** One event of GET /v1/jobs/{id}/events as OpenAPI 3.1 describes a text/event-stream: its fields, `data` a string. */
const JobStreamEventSchema = z
  .object({
    event: z.enum(['progress', 'partial', 'completed', 'failed', 'cancelled']),
    id: z.string().optional().meta({ description: "The event's id (the last of a batch carries it): send it back as Last-Event-ID" }),
    data: z.string().meta({
      description:
        'One line of JSON: a JobProgressEvent (progress), a JobPartialEvent (partial) or a JobEndEvent (completed, failed, cancelled)',
      contentMediaType: 'application/json',
    }),
    retry: z.int().optional().meta({ description: 'Milliseconds a client waits before reconnecting (sent once, first)' }),
  })
  .meta({ id: 'JobStreamEvent', example: { event: 'progress', id: '1733600000123-0', data: '{"status":"running","shards_done":3}' } });

export function buildOpenApiDocument(): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An opaque API key from RERANK_API_KEYS, sent as Authorization: Bearer <key> (not a JWT).',
  });
  for (const r of routes()) registry.registerPath(r);
  for (const event of ['completed', 'failed', 'cancelled'] as const) {
    registry.registerWebhook({
      method: 'post',
      path: `job.${event}`,
      operationId: `webhookJob${event[0].toUpperCase()}${event.slice(1)}`,
      tags: ['webhooks'],
      summary: `Sent once when a job ${event === 'completed' ? 'completes' : event === 'failed' ? 'fails' : 'is cancelled'}`,
      description: 'POSTed to webhook.url of the job, retried with exponential backoff until a 2xx (RERANK_WEBHOOK_ATTEMPTS).',
      security: [],
      request: { headers: webhookHeaders, body: { content: json(WebhookPayloadSchema), required: true } },
      responses: {
        200: { description: 'Received (any 2xx)' },
        400: { description: 'Refused: the delivery is retried, then recorded as failed on the job' },
      },
    });
  }
  // The event data schemas are components of their own, which JobStreamEvent's data (a string) names below.
  const generator = new OpenApiGeneratorV31([
    ...registry.definitions,
    ...JOB_EVENT_DATA.map((schema) => ({ type: 'schema' as const, schema })),
  ]);
  const document = generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Rerank service',
      version: '1',
      description:
        'Reranking API: synchronous /v1/rerank and /v2/rerank (Cohere / Jina shapes), the compatibility routes of TEI, vLLM and Infinity, ' +
        'and asynchronous jobs of any size (/v1/jobs) scored by device-pinned workers. Errors are {"error": {"code", "message", "field"?}}.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: '/', description: 'This server (a local stack listens on http://127.0.0.1:3000 by default, PORT)' }],
    security: [{ apiKey: [] }],
    tags: [
      { name: 'rerank', description: 'Synchronous reranking (Cohere v1 / v2, Jina)' },
      { name: 'jobs', description: 'Asynchronous jobs: submit, poll, results, cancel' },
      { name: 'models', description: 'Served models' },
      { name: 'health', description: 'Liveness and readiness' },
      { name: 'compatibility', description: "Other rerank servers' routes (TEI, vLLM, Infinity)" },
      { name: 'webhooks', description: 'Calls this service makes to webhook.url when a job ends' },
    ],
  });
  // JSON Schema's contentSchema (what a string holds), which zod-to-openapi does not write.
  const data = (document.components?.schemas?.JobStreamEvent as { properties: Record<string, Record<string, unknown>> }).properties.data;
  data.contentMediaType = 'application/json';
  data.contentSchema = { oneOf: JOB_EVENT_NAMES.map((name) => ({ $ref: `#/components/schemas/${name}` })) };
  return document as unknown as Record<string, unknown>;
}

export function setupOpenApi(app: INestApplication): void {
  const document = buildOpenApiDocument() as unknown as OpenAPIObject;
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
