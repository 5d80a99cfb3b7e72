/**
 * The Prometheus metrics the processes expose on /metrics (issue 10), fixed for the whole team:
 * the processes register exactly these, and deploy/ (alert rules, the Grafana dashboard, the KEDA
 * trigger) may refer only to these names and labels (test/deploy/observability.spec.ts checks it).
 *
 * Prometheus conventions: units in the name (`_seconds`), counters end in `_total`, label sets are
 * bounded (no job, shard or request ids). A histogram `x` is scraped as `x_bucket` (label `le`),
 * `x_sum` and `x_count`.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
  /** Label values where the set is closed (states, outcomes, queues); other labels take any value. */
  readonly values?: Readonly<Record<string, readonly string[]>>;
}

/** BullMQ queues of the job system (libs/jobs/src/queues.ts). */
export const METRIC_QUEUES = ['shards', 'aggregate', 'webhooks'] as const;
/** BullMQ job states reported per queue. */
export const METRIC_QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;
export const METRIC_JOB_OUTCOMES = ['accepted', 'completed', 'failed', 'cancelled'] as const;
export const METRIC_WEBHOOK_OUTCOMES = ['delivered', 'failed', 'retried'] as const;

export const METRIC_CATALOGUE: readonly MetricSpec[] = [
  {
    name: 'rerank_http_requests_total',
    type: 'counter',
    labels: ['route', 'method', 'status'],
    help: 'API requests, by route template (e.g. /v1/jobs/:id), method and status code.',
  },
  {
    name: 'rerank_http_request_duration_seconds',
    type: 'histogram',
    labels: ['route', 'method'],
    help: 'API request latency, by route template and method (event streams, which last as long as their job, left out).',
  },
  {
    name: 'rerank_queue_jobs',
    type: 'gauge',
    labels: ['queue', 'model', 'state'],
    help: "BullMQ jobs per queue, model ('' where none) and state.",
    values: { queue: METRIC_QUEUES, state: METRIC_QUEUE_STATES },
  },
  {
    name: 'rerank_queue_oldest_waiting_age_seconds',
    type: 'gauge',
    labels: ['queue', 'model'],
    help: 'Age of the oldest waiting entry of a queue (0 when none waits).',
    values: { queue: METRIC_QUEUES },
  },
  {
    name: 'rerank_jobs_total',
    type: 'counter',
    labels: ['outcome'],
    help: 'Jobs accepted, completed, failed and cancelled.',
    values: { outcome: METRIC_JOB_OUTCOMES },
  },
  {
    name: 'rerank_job_duration_seconds',
    type: 'histogram',
    labels: ['outcome'],
    help: 'End-to-end job time, from accepted to its final status.',
    values: { outcome: METRIC_JOB_OUTCOMES },
  },
  {
    name: 'rerank_worker_pairs_scored_total',
    type: 'counter',
    labels: ['device', 'model'],
    help: 'Query-document pairs scored.',
  },
  {
    name: 'rerank_worker_pairs_run_total',
    type: 'counter',
    labels: ['device', 'model'],
    help: 'Pairs the device ran, batch by batch, whatever became of their call (the batch a cancel caught included): the device work, beside the pairs of shards that completed.',
  },
  {
    name: 'rerank_worker_tokens_scored_total',
    type: 'counter',
    labels: ['device', 'model'],
    help: 'Tokens scored (real tokens, padding not counted).',
  },
  {
    name: 'rerank_worker_shard_duration_seconds',
    type: 'histogram',
    labels: ['device', 'model'],
    help: 'Time to score one shard.',
  },
  {
    name: 'rerank_worker_batch_padding_efficiency',
    type: 'histogram',
    labels: ['device', 'model'],
    help: 'Real tokens / padded tokens per batch (1 = no padding).',
  },
  {
    name: 'rerank_worker_model_load_seconds',
    type: 'gauge',
    labels: ['device', 'model'],
    help: 'Time the model took to load on the device.',
  },
  {
    name: 'rerank_worker_busy_ratio',
    type: 'gauge',
    labels: ['device'],
    help: 'Share of the last interval the device was scoring.',
  },
  {
    name: 'rerank_workers_live',
    type: 'gauge',
    labels: ['model'],
    help: 'Live workers serving a model (from worker heartbeats).',
  },
  {
    name: 'rerank_event_streams',
    type: 'gauge',
    labels: [],
    help: 'Open job event streams (GET /v1/jobs/{id}/events) of this API process (sum over replicas).',
  },
  {
    name: 'rerank_webhook_deliveries_total',
    type: 'counter',
    labels: ['outcome'],
    help: 'Webhook deliveries: delivered, failed (after the last attempt) and retried.',
    values: { outcome: METRIC_WEBHOOK_OUTCOMES },
  },
  {
    name: 'rerank_webhook_delivery_attempts',
    type: 'histogram',
    labels: ['outcome'],
    help: 'Attempts per finished webhook delivery (delivered, or failed after the last attempt).',
    values: { outcome: ['delivered', 'failed'] },
  },
];
