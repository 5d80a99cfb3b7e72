/**
 * Cluster-wide gauges computed at scrape time from Redis: BullMQ job counts per queue and state,
 * the age of each queue's oldest waiting entry, and live workers per model (heartbeats). Every API
 * and aggregator replica reports the same values; the alerts and dashboards read them with `max by`.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { modelQueues, QUEUE_AGGREGATE, QUEUE_SHARDS, QUEUE_WEBHOOKS } from '../queues';
import { BULL_PREFIX } from '../store/keys';
import type { WorkersRegistry } from '../ports/workers-registry';
import { RedisWorkersRegistry } from '../store/redis-workers-registry';
import { METRIC_QUEUE_STATES } from './metric-catalogue';
import type { Metrics } from './metrics';

/** Entries looked at for the oldest waiting one (the wait list from its old end, prioritized by score). */
const OLDEST_SCAN = 50;

export class ClusterGauges {
  /** Each queue with its metric labels: every model's shard queue as queue="shards", model=<name>; the others with model ''. */
  private readonly queues: { queue: Queue; name: string; model: string }[];
  private readonly registry: WorkersRegistry;

  constructor(
    redis: Redis,
    private readonly metrics: Metrics,
    /** Configured models: each is reported, 0 when no worker serves it (the no-live-worker alert). */
    private readonly models: readonly string[],
  ) {
    const opts = { connection: redis, prefix: BULL_PREFIX };
    this.queues = [
      ...models.map((model) => ({ queue: new Queue(modelQueues(model).shards, opts), name: QUEUE_SHARDS, model })),
      ...[QUEUE_AGGREGATE, QUEUE_WEBHOOKS].map((name) => ({ queue: new Queue(name, opts), name, model: '' })),
    ];
    this.registry = new RedisWorkersRegistry(redis);
  }

  /** Sets the gauges from Redis now (called before each /metrics answer). */
  async refresh(now = Date.now()): Promise<void> {
    const rows = await Promise.all(
      this.queues.map(async ({ queue, name, model }) => ({
        name,
        model,
        counts: await queue.getJobCounts(...METRIC_QUEUE_STATES),
        oldest: await this.oldestWaiting(queue),
      })),
    );
    const live = await this.registry.live(now);
    this.metrics.resetGauge('rerank_queue_jobs');
    this.metrics.resetGauge('rerank_queue_oldest_waiting_age_seconds');
    this.metrics.resetGauge('rerank_workers_live');
    // Shards per model (placement: the autoscaler scales each model's workers on its own queue).
    for (const r of rows) {
      for (const state of METRIC_QUEUE_STATES)
        this.metrics.gauge('rerank_queue_jobs', { queue: r.name, model: r.model, state }, r.counts[state] ?? 0);
      this.metrics.gauge(
        'rerank_queue_oldest_waiting_age_seconds',
        { queue: r.name, model: r.model },
        r.oldest === null ? 0 : Math.max(0, (now - r.oldest) / 1000),
      );
    }
    const perModel = new Map<string, number>(this.models.map((m) => [m, 0]));
    for (const w of live) {
      if (w.state !== 'ready') continue;
      for (const m of w.models) perModel.set(m.name, (perModel.get(m.name) ?? 0) + 1);
    }
    for (const [model, n] of perModel) this.metrics.gauge('rerank_workers_live', { model }, n);
  }

  /** Timestamp (ms) of the oldest entry waiting in the queue (plain or prioritized), null when none. */
  private async oldestWaiting(q: Queue): Promise<number | null> {
    const jobs = [
      ...(await q.getJobs(['wait'], 0, OLDEST_SCAN - 1, true)),
      ...(await q.getJobs(['prioritized'], 0, OLDEST_SCAN - 1, true)),
    ];
    let oldest: number | null = null;
    for (const j of jobs) if (j && (oldest === null || j.timestamp < oldest)) oldest = j.timestamp;
    return oldest;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.queue.close()));
  }
}
