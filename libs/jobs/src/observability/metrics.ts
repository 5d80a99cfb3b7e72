/**
 * prom-client metrics built from the catalogue (metric-catalogue.ts), so a process can only register
 * what deploy/ (alerts, dashboard, KEDA) expects, with the catalogue's names, types and labels.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { METRIC_CATALOGUE, type MetricSpec } from './metric-catalogue';

/** Bucket upper bounds per histogram (the catalogue fixes names and labels, not buckets). */
const BUCKETS: Record<string, number[]> = {
  rerank_http_request_duration_seconds: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  rerank_job_duration_seconds: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
  rerank_worker_shard_duration_seconds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  rerank_worker_batch_padding_efficiency: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1],
  rerank_webhook_delivery_attempts: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 50, 100],
};

export type Labels = Record<string, string>;

export class Metrics {
  readonly registry: Registry;
  private readonly metrics = new Map<string, { spec: MetricSpec; metric: Counter | Gauge | Histogram }>();

  /** Registers the catalogue's metrics named in `names` (all when omitted) on a registry of its own. */
  constructor(names?: readonly string[], registry = new Registry()) {
    this.registry = registry;
    const wanted = names ? new Set(names) : null;
    if (names) for (const n of names) specOf(n);
    for (const spec of METRIC_CATALOGUE) {
      if (wanted && !wanted.has(spec.name)) continue;
      const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [registry] };
      const metric =
        spec.type === 'counter'
          ? new Counter(common)
          : spec.type === 'gauge'
            ? // Merged across a launcher's workers (worker-metrics.ts): several CPU workers share the label device="cpu".
              new Gauge({ ...common, aggregator: 'average' })
            : new Histogram({ ...common, buckets: BUCKETS[spec.name] ?? [0.1, 0.5, 1, 5, 10] });
      this.metrics.set(spec.name, { spec, metric });
    }
  }

  counter(name: string, labels: Labels, by = 1): void {
    (this.get(name, 'counter', labels).metric as Counter).inc(labels, by);
  }

  observe(name: string, labels: Labels, value: number): void {
    (this.get(name, 'histogram', labels).metric as Histogram).observe(labels, value);
  }

  gauge(name: string, labels: Labels, value: number): void {
    (this.get(name, 'gauge', labels).metric as Gauge).set(labels, value);
  }

  /** Clears a gauge's label sets (gauges recomputed on every scrape drop values that went away). */
  resetGauge(name: string): void {
    (this.get(name, 'gauge', null).metric as Gauge).reset();
  }

  /** Prometheus text exposition of every registered metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private get(name: string, type: MetricSpec['type'], labels: Labels | null) {
    const entry = this.metrics.get(name);
    if (!entry) throw new Error(`metric ${name} is not registered in this process; add it to the names given to new Metrics()`);
    if (entry.spec.type !== type) throw new Error(`metric ${name} is a ${entry.spec.type} in the catalogue, not a ${type}`);
    if (labels) checkLabels(entry.spec, labels);
    return entry;
  }
}

function specOf(name: string): MetricSpec {
  const spec = METRIC_CATALOGUE.find((m) => m.name === name);
  if (!spec)
    throw new Error(
      `metric ${name} is not in libs/jobs/src/observability/metric-catalogue.ts; add it there first (deploy/ is checked against it)`,
    );
  return spec;
}

/** Exactly the catalogue's labels, and closed label sets respected: no unbounded values sneak in. */
function checkLabels(spec: MetricSpec, labels: Labels): void {
  const keys = Object.keys(labels).sort();
  const expected = [...spec.labels].sort();
  if (keys.join(',') !== expected.join(','))
    throw new Error(`metric ${spec.name} takes labels ${expected.join(', ')}; got ${keys.join(', ') || 'none'}`);
  for (const [label, allowed] of Object.entries(spec.values ?? {})) {
    if (!allowed.includes(labels[label]))
      throw new Error(`metric ${spec.name}: label ${label}="${labels[label]}" is not one of ${allowed.join(', ')}`);
  }
}

/** The metrics each process serves (worker metrics reach the launcher over IPC: worker-metrics.ts). */
export const API_METRICS = [
  'rerank_http_requests_total',
  'rerank_http_request_duration_seconds',
  'rerank_queue_jobs',
  'rerank_queue_oldest_waiting_age_seconds',
  'rerank_jobs_total',
  'rerank_workers_live',
  'rerank_event_streams',
] as const;
export const AGGREGATOR_METRICS = [
  'rerank_queue_jobs',
  'rerank_queue_oldest_waiting_age_seconds',
  'rerank_jobs_total',
  'rerank_job_duration_seconds',
  'rerank_workers_live',
  'rerank_webhook_deliveries_total',
  'rerank_webhook_delivery_attempts',
] as const;
export const WORKER_METRICS = [
  'rerank_worker_pairs_scored_total',
  'rerank_worker_pairs_run_total',
  'rerank_worker_tokens_scored_total',
  'rerank_worker_shard_duration_seconds',
  'rerank_worker_batch_padding_efficiency',
  'rerank_worker_model_load_seconds',
  'rerank_worker_busy_ratio',
] as const;
