/**
 * A job as clients see it (GET /v1/jobs/{id}) and as webhooks carry it: the types are the
 * contract's (contract/http-bodies.ts, JobSchema and WebhookPayloadSchema), built here from a record.
 */
import type { JobBody, WebhookPayloadBody } from './contract/http-bodies';
import type { JobRecord, Progress } from './ports/job-store';
import type { QueryResult } from './results';
import { redactUrl } from './net/webhook-target';

export type JobView = JobBody;
export type JobLinks = JobView['links'];
export type WebhookPayload = WebhookPayloadBody;

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
