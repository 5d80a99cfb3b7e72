/**
 * In-memory fakes of every port the services use (job, document and quota stores, workers registry,
 * scoring queue, webhook queue, scorer, aggregation task), and a configuration for in-process tests:
 * the unit tier runs JobsService, Aggregator and ShardWorker on these, with no Redis. The store fakes
 * pass the same contract tests as the Redis adapters (test/store/), so they behave as the real ones.
 */
import type { Pair, ScoreOverrides, ScoreSchedule } from '@rerank/engine';
import {
  type AggregationTask,
  type CancelSignals,
  type CancelTarget,
  type DocumentStore,
  type IdempotencyClaim,
  HEARTBEAT_TTL_MS,
  type ItemId,
  type JobLayout,
  type JobEventLog,
  type JobListPage,
  type JobLogEntry,
  type JobListQuery,
  type JobRecord,
  type JobStatus,
  type JobStore,
  type ListedJob,
  compareLogEntryIds,
  loadConfig,
  type NewJob,
  type PairScore,
  PermanentTaskError,
  type Progress,
  type QuotaStore,
  type RateBudget,
  type RateWindow,
  type RerankConfig,
  type Schedule,
  type ScoringQueue,
  type ShardContext,
  type ShardDone,
  type ShardFailure,
  type ShardJobData,
  type ShardPlan,
  type ShardReturn,
  type ShardStart,
  type StoreMemory,
  type SyncJobData,
  type SyncOutcome,
  type SyncReturn,
  TERMINAL,
  type TerminalStatus,
  type WebhookOutcome,
  type WebhookQueue,
  type WorkerHeartbeat,
  type WorkerModel,
  type WorkersRegistry,
} from '@rerank/jobs';
import type { ShardScorer, SyncPairs } from '../../apps/worker/src/engine-scorer';

/** The configuration of in-process tests: one encoder model, no Redis reached (the stores are fakes). */
export function unitConfig(env: Record<string, string> = {}): RerankConfig {
  return loadConfig(
    {
      REDIS_URL: 'redis://127.0.0.1:1',
      RERANK_MODELS: JSON.stringify([{ name: 'enc', path: '/nonexistent/enc', family: 'encoder' }]),
      ...env,
    },
    { requireModels: true },
  );
}

const clone = <T>(v: T): T => structuredClone(v);

interface StoredJob {
  record: JobRecord;
  layout: JobLayout;
  documentIds: (ItemId | null)[] | null;
  progress: Map<number, number>;
  runs: Map<number, number>;
  /** The event log (ids `<n>-0`, n counting entries of every job: increasing, as the Redis stream's). */
  events: JobLogEntry[];
  result: unknown;
  scores: PairScore[][] | null;
  /** Seconds to live when the job was last given an expiry; null: kept. */
  ttlSeconds: number | null;
}

const sameClaim = (a: IdempotencyClaim, b: IdempotencyClaim) => a.job === b.job && a.body === b.body && a.leaseUntil === b.leaseUntil;

/** The JobStore in memory; texts come from `documents` (as the Redis store's shard start reads them). */
export class MemoryJobStore implements JobStore {
  private readonly jobs = new Map<string, StoredJob>();
  private readonly tenantIndex = new Map<string, { id: string; createdAt: number }[]>();
  private readonly idempotency = new Map<string, IdempotencyClaim>();
  up = true;

  constructor(private readonly documents: DocumentStore) {}

  async waitForConnection(): Promise<void> {}
  connected(): boolean {
    return this.up;
  }
  async ping(): Promise<void> {
    if (!this.up) throw new Error('the store is down');
  }
  async waitUntilWritable(): Promise<void> {}

  async create(n: NewJob): Promise<void> {
    const { job } = n;
    this.jobs.set(n.id, {
      record: {
        id: n.id,
        tenant: n.tenant,
        status: 'queued',
        model: job.model,
        createdAt: n.createdAt,
        startedAt: null,
        finishedAt: null,
        counts: { queries: job.queries.length, documents: job.sets.reduce((c, s) => c + s.count, 0), pairs: job.pairs },
        shardsTotal: n.shardsTotal,
        topK: job.topK,
        returnDocuments: job.returnDocuments,
        options: clone(job.options),
        metadata: job.metadata ? clone(job.metadata) : null,
        webhook: job.webhook
          ? {
              url: job.webhook.url,
              state: 'pending',
              event: null,
              attempts: 0,
              lastStatus: null,
              lastError: null,
              lastAttemptAt: null,
              deliveredAt: null,
            }
          : null,
        webhookSecret: job.webhook?.secret ?? null,
        error: null,
        baseUrl: n.baseUrl,
        requestHash: n.requestHash,
        requestId: n.requestId ?? '',
        pending: true,
      },
      layout: { queries: clone(job.queries), sets: clone(job.sets) },
      documentIds: job.documentIds ? clone(job.documentIds) : null,
      progress: new Map(),
      runs: new Map(),
      events: [],
      result: null,
      scores: null,
      ttlSeconds: 3600,
    });
  }

  async activate(id: string): Promise<void> {
    const j = this.jobs.get(id);
    if (!j) return;
    j.record.pending = false;
    if (j.record.status === 'queued' || j.record.status === 'running') j.ttlSeconds = null;
    const index = this.tenantIndex.get(j.record.tenant) ?? [];
    if (!index.some((e) => e.id === id)) index.push({ id, createdAt: j.record.createdAt });
    this.tenantIndex.set(j.record.tenant, index);
  }

  async discard(id: string, tenant: string): Promise<void> {
    this.jobs.delete(id);
    this.tenantIndex.set(
      tenant,
      (this.tenantIndex.get(tenant) ?? []).filter((e) => e.id !== id),
    );
  }

  async get(id: string): Promise<JobRecord | null> {
    const j = this.jobs.get(id);
    return j ? clone(j.record) : null;
  }

  async getWithProgress(id: string): Promise<ListedJob | null> {
    const j = this.jobs.get(id);
    return j ? { record: clone(j.record), progress: progressOf(j) } : null;
  }

  async status(id: string): Promise<JobStatus | null> {
    return this.jobs.get(id)?.record.status ?? null;
  }

  async shardContext(id: string): Promise<ShardContext | null> {
    const j = this.jobs.get(id);
    if (!j) return null;
    const r = j.record;
    return { layout: clone(j.layout), options: clone(r.options), topK: r.topK, returnDocuments: r.returnDocuments, requestId: r.requestId };
  }

  async layout(id: string): Promise<JobLayout | null> {
    const j = this.jobs.get(id);
    return j ? clone(j.layout) : null;
  }

  async documentIds(id: string): Promise<(ItemId | null)[] | null> {
    const j = this.jobs.get(id);
    return j?.documentIds ? clone(j.documentIds) : null;
  }

  async finish(id: string, status: TerminalStatus, error?: { code: string; message: string }, now = Date.now()): Promise<boolean | null> {
    const j = this.jobs.get(id);
    if (!j) return null;
    if (TERMINAL.includes(j.record.status)) return false;
    Object.assign(j.record, { status, finishedAt: now, ...(error ? { error: { ...error } } : {}) });
    this.log(j, { kind: 'end', status }, now);
    return true;
  }

  async expire(id: string, ttlSeconds: number): Promise<void> {
    const j = this.jobs.get(id);
    if (j) j.ttlSeconds = ttlSeconds;
  }

  /** Seconds the job was last given to live (null: kept until it ends), undefined when gone. */
  ttl(id: string): number | null | undefined {
    return this.jobs.get(id)?.ttlSeconds;
  }

  ids(): string[] {
    return [...this.jobs.keys()].sort();
  }

  /** Times each shard's scoring started. */
  shardRuns(id: string): Record<string, number> {
    return Object.fromEntries([...(this.jobs.get(id)?.runs ?? [])].map(([n, c]) => [String(n), c]));
  }

  async listOwned(tenant: string, q: JobListQuery): Promise<JobListPage> {
    const entries = [...(this.tenantIndex.get(tenant) ?? [])]
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .filter(
        (e) =>
          (q.createdBefore === undefined || e.createdAt < q.createdBefore) &&
          (q.createdAfter === undefined || e.createdAt > q.createdAfter) &&
          (!q.cursor || e.createdAt < q.cursor.createdAt || (e.createdAt === q.cursor.createdAt && e.id < q.cursor.id)),
      );
    const found: ListedJob[] = [];
    for (const e of entries) {
      const j = this.jobs.get(e.id);
      if (!j || j.record.tenant !== tenant) continue;
      if (q.statuses && !q.statuses.includes(j.record.status)) continue;
      if (found.length === q.limit) {
        const last = found[found.length - 1].record;
        return { jobs: found, next: { createdAt: last.createdAt, id: last.id } };
      }
      found.push({ record: clone(j.record), progress: progressOf(j) });
    }
    return { jobs: found, next: null };
  }

  async startShard(id: string, n: number, flatIndices: readonly number[], now = Date.now()): Promise<ShardStart> {
    const j = this.jobs.get(id);
    if (!j) return { state: 'gone' };
    if (TERMINAL.includes(j.record.status)) return { state: j.record.status as TerminalStatus };
    const texts = await this.documents.read(id, flatIndices);
    if (texts.some((t) => t === null)) return { state: 'missing' };
    if (j.record.status === 'queued') Object.assign(j.record, { status: 'running', startedAt: now });
    j.runs.set(n, (j.runs.get(n) ?? 0) + 1);
    return { state: 'ok', texts: texts as string[] };
  }

  async recordShard(id: string, shard: ShardDone): Promise<void> {
    const j = this.jobs.get(id);
    if (!j) return;
    j.progress.set(shard.n, shard.pairs);
    // As JSON, as the Redis stream keeps it (NaN scores become null).
    this.log(j, { kind: 'shard', shard: JSON.parse(JSON.stringify(shard)) as ShardDone }, Date.now());
  }

  private logged = 0;

  private log(j: StoredJob, entry: { kind: 'shard'; shard: ShardDone } | { kind: 'end'; status: TerminalStatus }, at: number): void {
    j.events.push({ id: `${++this.logged}-0`, at, ...entry });
  }

  /** The job's event log entries after `after` (JobEventLog's read, for MemoryJobEventLog). */
  eventsAfter(id: string, after: string): JobLogEntry[] {
    const events = this.jobs.get(id)?.events ?? [];
    return clone(events.filter((e) => compareLogEntryIds(e.id, after) > 0));
  }

  async progress(id: string): Promise<Progress> {
    const j = this.jobs.get(id);
    return j ? progressOf(j) : { shardsDone: 0, pairsDone: 0 };
  }

  async storeResults(id: string, top: unknown, scores: readonly PairScore[][], ttlSeconds: number): Promise<void> {
    const j = this.jobs.get(id);
    if (!j) return;
    Object.assign(j, { result: clone(top), scores: clone(scores), ttlSeconds });
  }

  async result(id: string): Promise<unknown> {
    return clone(this.jobs.get(id)?.result ?? null);
  }

  async queryScores(id: string, queryIndex: number): Promise<PairScore[] | null> {
    return clone(this.jobs.get(id)?.scores?.[queryIndex] ?? null);
  }

  async recordWebhookAttempt(id: string, event: TerminalStatus, at: number): Promise<number | null> {
    const w = this.jobs.get(id)?.record.webhook;
    if (!w) return null;
    Object.assign(w, { event, attempts: w.attempts + 1, lastAttemptAt: at });
    return w.attempts;
  }

  async recordWebhookOutcome(id: string, o: WebhookOutcome): Promise<void> {
    const w = this.jobs.get(id)?.record.webhook;
    if (!w) return;
    if (o.state === 'delivered') Object.assign(w, { state: 'delivered', lastStatus: o.status, lastError: null, deliveredAt: o.at });
    else Object.assign(w, { state: o.state, lastStatus: o.status, lastError: o.error });
  }

  async claimIdempotencyKey(
    tenant: string,
    keyHash: string,
    claim: IdempotencyClaim,
    _ttlSeconds: number,
    replacing?: IdempotencyClaim,
  ): Promise<IdempotencyClaim | null> {
    const key = `${tenant}:${keyHash}`;
    const found = this.idempotency.get(key);
    if (found && !(replacing && sameClaim(found, replacing))) return { ...found };
    this.idempotency.set(key, { ...claim });
    return null;
  }

  async updateIdempotencyKey(
    tenant: string,
    keyHash: string,
    from: IdempotencyClaim,
    to: IdempotencyClaim,
    _ttlSeconds: number,
  ): Promise<boolean> {
    const key = `${tenant}:${keyHash}`;
    const found = this.idempotency.get(key);
    if (!found || !sameClaim(found, from)) return false;
    this.idempotency.set(key, { ...to });
    return true;
  }

  async releaseIdempotencyKey(tenant: string, keyHash: string, claim: IdempotencyClaim): Promise<void> {
    const key = `${tenant}:${keyHash}`;
    const found = this.idempotency.get(key);
    if (found && sameClaim(found, claim)) this.idempotency.delete(key);
  }
}

function progressOf(j: StoredJob): Progress {
  let pairsDone = 0;
  for (const v of j.progress.values()) pairsDone += v;
  return { shardsDone: j.progress.size, pairsDone };
}

/** The DocumentStore in memory. */
export class MemoryDocumentStore implements DocumentStore {
  private readonly texts = new Map<string, { texts: string[]; ttlSeconds: number | null }>();

  async write(jobId: string, texts: readonly string[]): Promise<void> {
    this.texts.set(jobId, { texts: [...texts], ttlSeconds: 3600 });
  }
  async keep(jobId: string): Promise<void> {
    const t = this.texts.get(jobId);
    if (t) t.ttlSeconds = null;
  }
  async read(jobId: string, indices: readonly number[]): Promise<(string | null)[]> {
    const t = this.texts.get(jobId)?.texts;
    return indices.map((i) => t?.[i] ?? null);
  }
  async has(jobId: string): Promise<boolean> {
    return this.texts.has(jobId);
  }
  async expire(jobId: string, ttlSeconds: number): Promise<void> {
    const t = this.texts.get(jobId);
    if (t) t.ttlSeconds = ttlSeconds;
  }
  async remove(jobId: string): Promise<void> {
    this.texts.delete(jobId);
  }
  /** Seconds the texts were last given to live (null: kept), undefined when gone. */
  ttl(jobId: string): number | null | undefined {
    return this.texts.get(jobId)?.ttlSeconds;
  }
}

/** The QuotaStore in memory: budgets that never reset within a test, job statuses from `jobs`. */
export class MemoryQuotaStore implements QuotaStore {
  private readonly taken = new Map<string, number>();
  private readonly active = new Map<string, Set<string>>();
  private readonly pending = new Map<string, number>();
  storeMemory: StoreMemory = { used: 0, max: 0 };

  constructor(
    private readonly budgets: Record<RateBudget, number>,
    private readonly jobs: Pick<JobStore, 'status'>,
  ) {}

  async take(budget: RateBudget, tenant: string, points: number): Promise<RateWindow> {
    const max = this.budgets[budget];
    if (max === 0) return { allowed: true, remaining: Infinity, msBeforeReset: 0 };
    const key = `${budget}:${tenant}`;
    const used = (this.taken.get(key) ?? 0) + points;
    this.taken.set(key, used);
    return { allowed: used <= max, remaining: Math.max(0, max - used), msBeforeReset: 60000 };
  }

  async claimActiveJob(tenant: string, jobId: string, max: number): Promise<number | null> {
    const set = this.active.get(tenant) ?? new Set();
    for (const id of set) if (await this.ended(id)) set.delete(id);
    this.active.set(tenant, set);
    if (set.size >= max) return set.size;
    set.add(jobId);
    return null;
  }

  async releaseActiveJob(tenant: string, jobId: string): Promise<void> {
    this.active.get(tenant)?.delete(jobId);
  }

  async trackPendingPairs(jobId: string, pairs: number): Promise<void> {
    this.pending.set(jobId, pairs);
  }

  async pendingPairs(): Promise<number> {
    let sum = 0;
    for (const [id, pairs] of this.pending) {
      if (await this.ended(id)) this.pending.delete(id);
      else sum += pairs;
    }
    return sum;
  }

  async memory(): Promise<StoreMemory> {
    return { ...this.storeMemory };
  }

  private async ended(id: string): Promise<boolean> {
    const s = await this.jobs.status(id);
    return s === null || TERMINAL.includes(s);
  }
}

/** The WorkersRegistry in memory. */
export class MemoryWorkersRegistry implements WorkersRegistry {
  readonly beats = new Map<string, WorkerHeartbeat>();

  async beat(hb: WorkerHeartbeat): Promise<void> {
    this.beats.set(hb.id, clone(hb));
  }
  async remove(id: string): Promise<void> {
    this.beats.delete(id);
  }
  async live(now = Date.now()): Promise<WorkerHeartbeat[]> {
    return [...this.beats.values()].filter((hb) => hb.beatAt >= now - HEARTBEAT_TTL_MS).map(clone);
  }
}

/** Scores a pair by a rule of the test: by default the document's length (longer ranks higher). */
export class FakeScorer implements ShardScorer {
  readonly calls: { model: string; pairs: Pair[]; options: ScoreOverrides; schedule: ScoreSchedule }[] = [];
  loaded = false;
  closed = false;

  constructor(private readonly rule: (query: string, doc: string) => PairScore = (_q, d) => d.length) {}

  async load(): Promise<void> {
    this.loaded = true;
  }

  async score(model: string, pairs: Pair[], options: ScoreOverrides, schedule: ScoreSchedule): Promise<PairScore[]> {
    this.calls.push({ model, pairs, options, schedule });
    if (model !== 'enc') throw new Error(`model "${model}" is not loaded`);
    if ((options as { maxLength?: number }).maxLength === -1) throw new PermanentTaskError('bad_options', 'maxLength: must be positive');
    return pairs.map(([q, d]) => this.rule(q, d));
  }

  /** Documents whole (no tokenizer here): the chunking options are the engine's, tested with real models. */
  async syncPairs(data: SyncJobData): Promise<SyncPairs> {
    return { pairs: data.documents.map((d) => [data.query, d]), documentOf: null };
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
 * The scoring queue in memory: jobs are recorded with their shards as the queue carries them;
 * synchronous shards run at once through `runSync` (e.g. a ShardWorker's handle) unless `hold`
 * keeps them waiting.
 */
export class FakeScoringQueue extends FakeWebhookQueue implements ScoringQueue {
  readonly jobs = new Map<string, { model: string; shards: ShardJobData[]; schedule: Schedule }>();
  readonly cancelled: string[] = [];
  readonly sync = new Map<string, { data: SyncJobData; result?: Promise<SyncReturn> }>();
  readonly removed: string[] = [];
  failAdd: Error | null = null;
  hold = false;
  private next = 0;

  constructor(private readonly runSync: (data: SyncJobData) => Promise<ShardReturn | SyncReturn>) {
    super();
  }

  async addJob(jobId: string, model: string, shards: readonly ShardPlan[], schedule: Schedule): Promise<void> {
    if (this.failAdd) throw this.failAdd;
    this.jobs.set(jobId, {
      model,
      shards: shards.map((s, n) => ({ kind: 'shard', jobId, n, model, q: s.q, idx: s.idx, schedule })),
      schedule,
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

  async hasJob(jobId: string): Promise<boolean> {
    return this.jobs.has(jobId);
  }

  async cancelPendingShards(jobId: string): Promise<void> {
    this.cancelled.push(jobId);
  }

  async close(): Promise<void> {}
}

/** Cancels in memory: what was published, delivered to the subscribers. */
export class FakeCancelSignals implements CancelSignals {
  readonly published: CancelTarget[] = [];
  private readonly handlers: ((t: CancelTarget) => void)[] = [];

  async publish(target: CancelTarget): Promise<void> {
    this.published.push(target);
    for (const h of this.handlers) h(target);
  }

  async subscribe(handler: (target: CancelTarget) => void): Promise<void> {
    this.handlers.push(handler);
  }

  async close(): Promise<void> {}
}

/** An aggregation task over given shard outcomes. */
export function aggregationTask(
  jobId: string,
  results: ShardReturn[],
  failed: ShardFailure[] = [],
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

/** The JobEventLog over a MemoryJobStore's logs: reads what is there (it never waits). */
export class MemoryJobEventLog implements JobEventLog {
  constructor(private readonly store: MemoryJobStore) {}

  async read(after: ReadonlyMap<string, string>): Promise<Map<string, JobLogEntry[]>> {
    const out = new Map<string, JobLogEntry[]>();
    for (const [id, position] of after) {
      const entries = this.store.eventsAfter(id, position);
      if (entries.length > 0) out.set(id, entries);
    }
    return out;
  }

  async close(): Promise<void> {}
}
