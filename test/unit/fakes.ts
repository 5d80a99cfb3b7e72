/**
 * In-memory fakes of the ports the services use (queue, scorer, webhook queue, aggregation task),
 * and a configuration for in-process tests. Repositories are the real ones on a real redis-server.
 */
import type { Pair, ScoreOverrides, ScoreSchedule } from '@rerank/engine';
import {
  type AggregationTask,
  type JobSchedule,
  loadConfig,
  type PairScore,
  PermanentTaskError,
  type RerankConfig,
  type ScoringQueue,
  type ShardPlan,
  type ShardJobData,
  type ShardReturn,
  type SyncJobData,
  type SyncOutcome,
  type SyncReturn,
  type TerminalStatus,
  type WebhookQueue,
  type WorkerModel,
} from '@rerank/jobs';
import type { ShardScorer, SyncPairs } from '../../apps/worker/src/engine-scorer';

export function unitConfig(redisUrl: string, env: Record<string, string> = {}): RerankConfig {
  return loadConfig(
    { REDIS_URL: redisUrl, RERANK_MODELS: JSON.stringify([{ name: 'enc', path: '/nonexistent/enc', family: 'encoder' }]), ...env },
    { requireModels: true },
  );
}

/** Scores a pair by a rule of the test: by default the document's length (longer ranks higher). */
export class FakeScorer implements ShardScorer {
  readonly calls: { model: string; pairs: Pair[]; options: ScoreOverrides; schedule?: ScoreSchedule }[] = [];
  loaded = false;
  closed = false;

  constructor(private readonly rule: (query: string, doc: string) => PairScore = (_q, d) => d.length) {}

  async load(): Promise<void> {
    this.loaded = true;
  }

  async score(model: string, pairs: Pair[], options: ScoreOverrides, schedule?: ScoreSchedule): Promise<PairScore[]> {
    this.calls.push({ model, pairs, options, ...(schedule ? { schedule } : {}) });
    if (model !== 'enc') throw new Error(`model "${model}" is not loaded`);
    if ((options as { maxLength?: number }).maxLength === -1) throw new PermanentTaskError('maxLength: must be positive');
    return pairs.map(([q, d]) => this.rule(q, d));
  }

  /** Documents whole (no tokenizer here): the chunking options are the engine's, tested with real models. */
  async syncPairs(data: SyncJobData): Promise<SyncPairs> {
    return { pairs: data.documents.map((d) => [data.query, d]), owners: null };
  }

  /** Whitespace-separated words stand in for tokens. */
  async inputTokens(_model: string, pairs: Pair[]): Promise<number> {
    return pairs.reduce((n, [q, d]) => n + q.split(/\s+/).filter(Boolean).length + d.split(/\s+/).filter(Boolean).length, 0);
  }

  models(): WorkerModel[] {
    return this.loaded ? [{ name: 'enc', family: 'encoder', generated: true }] : [];
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class FakeWebhookQueue implements WebhookQueue {
  readonly queued: { jobId: string; event: TerminalStatus }[] = [];
  async queueWebhook(jobId: string, event: TerminalStatus): Promise<void> {
    // A second add of the same event is a no-op, as with BullMQ job ids.
    if (!this.queued.some((w) => w.jobId === jobId && w.event === event)) this.queued.push({ jobId, event });
  }
}

/**
 * The scoring queue in memory: jobs are recorded with their shards; synchronous shards run at
 * once through `runSync` (e.g. a ShardWorker's handle) unless `hold` keeps them waiting.
 */
export class FakeScoringQueue extends FakeWebhookQueue implements ScoringQueue {
  readonly jobs = new Map<string, { model: string; shards: ShardJobData[]; schedule?: JobSchedule }>();
  readonly cancelled: string[] = [];
  readonly sync = new Map<string, { data: SyncJobData; result?: Promise<SyncReturn> }>();
  readonly removed: string[] = [];
  failAdd: Error | null = null;
  hold = false;
  private next = 0;

  constructor(private readonly runSync: (data: SyncJobData) => Promise<ShardReturn | SyncReturn>) {
    super();
  }

  async addJob(jobId: string, model: string, shards: readonly ShardPlan[], schedule?: JobSchedule): Promise<void> {
    if (this.failAdd) throw this.failAdd;
    this.jobs.set(jobId, {
      model,
      shards: shards.map((s, n) => ({ kind: 'shard', jobId, n, model, q: s.q, idx: s.idx })),
      ...(schedule ? { schedule } : {}),
    });
  }

  async addSyncShard(data: SyncJobData): Promise<string> {
    if (this.failAdd) throw this.failAdd;
    const id = String(++this.next);
    this.sync.set(id, { data, ...(this.hold ? {} : { result: this.runSync(data) as Promise<SyncReturn> }) });
    return id;
  }

  async waitForSync(id: string): Promise<SyncOutcome> {
    const entry = this.sync.get(id);
    if (!entry) throw new Error(`no sync shard ${id}`);
    if (!entry.result) return { state: 'timeout', active: false };
    try {
      return { state: 'completed', value: await entry.result };
    } catch (e) {
      return { state: 'failed', error: (e as Error).message };
    }
  }

  async removeSync(id: string): Promise<void> {
    this.sync.delete(id);
    this.removed.push(id);
  }

  async cancelPendingShards(jobId: string): Promise<void> {
    this.cancelled.push(jobId);
  }

  async close(): Promise<void> {}
}

/** An aggregation task over given shard outcomes. */
export function aggregationTask(
  jobId: string,
  results: ShardReturn[],
  failed: { shard: string; reason: string }[] = [],
): AggregationTask & { removedPending: boolean } {
  const task = {
    jobId,
    attemptsMade: 0,
    maxAttempts: 3,
    removedPending: false,
    failedShards: async () => failed,
    shardResults: async () => results,
    removePendingShards: async () => {
      task.removedPending = true;
    },
  };
  return task;
}
