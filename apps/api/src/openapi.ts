/**
 * OpenAPI schemas of the wire format (the validation itself lives in @rerank/jobs), and the
 * document setup: UI at /docs, JSON at /openapi.json.
 */
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ENGINE_OPTIONS } from '@rerank/jobs';

const engineOptionProps: Record<string, SchemaObject> = Object.fromEntries(
  ENGINE_OPTIONS.map((o) => {
    const type: SchemaObject =
      o.field === 'normalize'
        ? { type: 'boolean' }
        : ['cutoff_layers', 'compress_layers'].includes(o.field)
          ? { type: 'array', items: { type: 'integer' }, nullable: true }
          : ['max_length', 'query_max_length', 'batch_size', 'max_batch_tokens', 'compress_ratio'].includes(o.field)
            ? { type: 'integer', nullable: o.field === 'query_max_length' }
            : { type: 'string', nullable: !o.field.endsWith('_format') };
    return [o.field, { ...type, description: `Engine option: ${o.description}${o.families ? ` (${o.families.join(' / ')} families only)` : ''}` }];
  }),
);

const documentItem: SchemaObject = {
  oneOf: [{ type: 'string' }, { type: 'object', required: ['text'], properties: { id: { oneOf: [{ type: 'string' }, { type: 'integer' }] }, text: { type: 'string' } } }],
  description: 'A document: a string, or {id?, text}',
};

export const ErrorSchema: SchemaObject = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', example: 'invalid_request' },
        message: { type: 'string', example: 'documents[3].text: expected document as a string, got a number (5)' },
        field: { type: 'string', example: 'documents[3].text' },
        limit: { type: 'object', properties: { name: { type: 'string' }, value: { type: 'integer' }, env: { type: 'string' } } },
      },
    },
  },
};

export const RerankRequestSchema: SchemaObject = {
  type: 'object',
  required: ['query', 'documents'],
  properties: {
    model: { type: 'string', description: 'A served model (GET /v1/models); optional when only one is served' },
    query: { type: 'string' },
    documents: { type: 'array', items: { oneOf: [{ type: 'string' }, { type: 'object', required: ['text'], properties: { text: { type: 'string' } } }] } },
    top_n: { type: 'integer', minimum: 1, description: 'How many results (default: all)' },
    return_documents: { type: 'boolean', default: false },
    rank_fields: { type: 'array', items: { type: 'string', enum: ['text'] } },
    ...engineOptionProps,
  },
  example: { model: 'my-reranker', query: 'What is the capital of France?', documents: ['Paris is the capital of France.', 'Berlin is in Germany.'], top_n: 1, return_documents: true },
};

export const RerankResponseSchema: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    results: {
      type: 'array',
      items: { type: 'object', properties: { index: { type: 'integer' }, relevance_score: { type: 'number', description: 'sigmoid of the model score (0..1), as Cohere and Jina; the raw score with normalize: false' }, document: { type: 'object', properties: { text: { type: 'string' } } } } },
    },
    meta: { type: 'object' },
    model: { type: 'string' },
    usage: { type: 'object' },
  },
};

export const JobRequestSchema: SchemaObject = {
  type: 'object',
  description: 'Either query + documents, or queries (each with its documents), or queries + shared documents.',
  properties: {
    model: { type: 'string' },
    query: { type: 'string' },
    documents: { type: 'array', items: documentItem },
    queries: {
      type: 'array',
      items: {
        oneOf: [
          { type: 'string' },
          { type: 'object', required: ['query'], properties: { id: { oneOf: [{ type: 'string' }, { type: 'integer' }] }, query: { type: 'string' }, documents: { type: 'array', items: documentItem } } },
        ],
      },
    },
    top_k: { type: 'integer', minimum: 1, default: 10 },
    return_documents: { type: 'boolean', default: true, description: 'Include document texts in the top-k results' },
    webhook: {
      type: 'object',
      required: ['url'],
      properties: { url: { type: 'string', format: 'uri' }, secret: { type: 'string', description: 'HMAC-SHA256 key of the X-Rerank-Signature header' } },
    },
    metadata: { type: 'object', description: 'Echoed back with the job and its webhook' },
    priority: { type: 'integer', minimum: 0, default: 0, description: 'Share among queued jobs (0 most urgent): a job of priority p gets a shard every 1 + p rounds (above 9 counts as 9)' },
    ...engineOptionProps,
  },
  example: {
    model: 'my-reranker',
    queries: [{ id: 'q1', query: 'capital of France' }],
    documents: [{ id: 'd1', text: 'Paris is the capital of France.' }, 'Berlin is in Germany.'],
    top_k: 10,
    webhook: { url: 'https://example.com/hooks/rerank', secret: 'a-long-shared-secret' },
  },
};

const progress: SchemaObject = {
  type: 'object',
  properties: { shards_done: { type: 'integer' }, shards_total: { type: 'integer' }, pairs_done: { type: 'integer' }, pairs_total: { type: 'integer' } },
};

export const JobSchema: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', example: 'rerank.job' },
    status: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'cancelled'] },
    model: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time', nullable: true },
    finished_at: { type: 'string', format: 'date-time', nullable: true },
    progress,
    counts: { type: 'object', properties: { queries: { type: 'integer' }, documents: { type: 'integer' }, pairs: { type: 'integer' } } },
    top_k: { type: 'integer' },
    timings: { type: 'object', properties: { queued_ms: { type: 'integer' }, running_ms: { type: 'integer' }, total_ms: { type: 'integer' } } },
    error: { type: 'object', nullable: true, properties: { code: { type: 'string' }, message: { type: 'string' } } },
    metadata: { type: 'object', nullable: true },
    webhook: {
      type: 'object',
      nullable: true,
      properties: {
        url: { type: 'string' },
        state: { type: 'string', enum: ['pending', 'retrying', 'delivered', 'failed'] },
        event: { type: 'string', nullable: true },
        attempts: { type: 'integer' },
        last_status: { type: 'integer', nullable: true },
        last_error: { type: 'string', nullable: true },
        last_attempt_at: { type: 'string', nullable: true },
        delivered_at: { type: 'string', nullable: true },
      },
    },
    links: { type: 'object', properties: { self: { type: 'string' }, results: { type: 'string' }, cancel: { type: 'string' } } },
  },
};

export const ResultsSchema: SchemaObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    model: { type: 'string' },
    top_k: { type: 'integer' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          query_index: { type: 'integer' },
          query_id: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
          query: { type: 'string' },
          top_k: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                index: { type: 'integer' },
                id: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
                score: { type: 'number' },
                scores: { type: 'array', items: { type: 'number' } },
                document: { type: 'object', properties: { text: { type: 'string' } } },
              },
            },
          },
          scores: { type: 'array', items: { type: 'number' }, description: 'With ?all=true: every score in document order' },
        },
      },
    },
  },
};

export function setupOpenApi(app: INestApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Rerank service')
    .setDescription(
      'Reranking API: synchronous /v1/rerank and /v2/rerank (Cohere / Jina shapes) and asynchronous jobs of any size (/v1/jobs) ' +
        'scored by device-pinned workers. Errors are {"error": {"code", "message", "field"?}}. Webhooks carry ' +
        'X-Rerank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key from RERANK_API_KEYS' })
    .build();
  const document = SwaggerModule.createDocument(app, doc);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'openapi.yaml' });
}
