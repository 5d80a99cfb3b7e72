/**
 * A job as clients see it (GET /v1/jobs/{id}) and as webhooks carry it.
 */
import type { JobRecord, Progress } from './ports/job-store';
import type { QueryResult } from './results';
import { redactUrl } from './net/webhook-target';

export interface JobLinks {
  self: string;
  results: string;
  cancel: string;
}

export interface JobView {
  id: string;
  object: 'rerank.job';
  status: JobRecord['status'];
  model: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  progress: { shards_done: number; shards_total: number; pairs_done: number; pairs_total: number };
  counts: { queries: number; documents: number; pairs: number };
  top_k: number;
  timings: { queued_ms: number | null; running_ms: number | null; total_ms: number | null };
  error: { code: string; message: string } | null;
  metadata: Record<string, unknown> | null;
  webhook: {
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

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function jobLinks(id: string, baseUrl = ''): JobLinks {
  const self = `${baseUrl}/v1/jobs/${id}`;
  return { self, results: `${self}/results`, cancel: self };
}

export function jobView(job: JobRecord, progress: Progress, baseUrl = '', now = Date.now()): JobView {
  const started = job.startedAt;
  const finished = job.finishedAt;
  return {
    id: job.id,
    object: 'rerank.job',
    status: job.status,
    model: job.model,
    created_at: iso(job.createdAt) as string,
    started_at: iso(started),
    finished_at: iso(finished),
    progress: {
      shards_done: progress.shardsDone,
      shards_total: job.shardsTotal,
      pairs_done: progress.pairsDone,
      pairs_total: job.counts.pairs,
    },
    counts: job.counts,
    top_k: job.topK,
    timings: {
      queued_ms: started !== null ? started - job.createdAt : finished !== null ? finished - job.createdAt : now - job.createdAt,
      running_ms: started !== null ? (finished ?? now) - started : null,
      total_ms: (finished ?? now) - job.createdAt,
    },
    error: job.error,
    metadata: job.metadata,
    webhook: job.webhook
      ? {
          url: redactUrl(job.webhook.url),
          state: job.webhook.state,
          event: job.webhook.event,
          attempts: job.webhook.attempts,
          last_status: job.webhook.lastStatus,
          last_error: job.webhook.lastError,
          last_attempt_at: iso(job.webhook.lastAttemptAt),
          delivered_at: iso(job.webhook.deliveredAt),
        }
      : null,
    links: jobLinks(job.id, baseUrl),
  };
}

export interface WebhookPayload {
  event: `job.${'completed' | 'failed' | 'cancelled'}`;
  delivery_id: string;
  id: string;
  status: JobRecord['status'];
  model: string;
  counts: JobView['counts'];
  progress: JobView['progress'];
  created_at: string;
  finished_at: string | null;
  error: JobView['error'];
  metadata: JobView['metadata'];
  links: JobLinks;
  /** Present when the job completed with at most RERANK_WEBHOOK_INLINE_MAX top-k entries. */
  results?: QueryResult[];
}

export function webhookPayload(view: JobView, deliveryId: string, results: QueryResult[] | null): WebhookPayload {
  const status = view.status as 'completed' | 'failed' | 'cancelled';
  return {
    event: `job.${status}`,
    delivery_id: deliveryId,
    id: view.id,
    status: view.status,
    model: view.model,
    counts: view.counts,
    progress: view.progress,
    created_at: view.created_at,
    finished_at: view.finished_at,
    error: view.error,
    metadata: view.metadata,
    links: view.links,
    ...(results ? { results } : {}),
  };
}
