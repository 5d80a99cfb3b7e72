/**
 * One worker process pinned to one device: scores shards from the `shards` queue,
 * `RERANK_WORKER_CONCURRENCY` at a time, and synchronous request parts from the `sync` queue,
 * `RERANK_WORKER_SYNC_CONCURRENCY` at a time; the engine interleaves their batches on the device,
 * the requests' first. Its repository, registry, scorer and queue
 * consumer come from main.ts (unit tests pass a fake scorer and call `handle` directly).
 */
import { hostname } from 'node:os';
import { type Pair, ScoringCancelledError, SHARED_TENANT } from '@rerank/engine';
import {
  type CancelSignals,
  type CancelTarget,
  createLogger,
  flatIndices,
  HEARTBEAT_INTERVAL_MS,
  InfraRetryExhaustedError,
  jobSchedule,
  type JobRecords,
  type Logger,
  PermanentTaskError,
  type QueueConsumer,
  type PairScore,
  rankingScore,
  requestSchedule,
  type RerankConfig,
  type Schedule,
  type ScoringJobData,
  type ShardContext,
  type ShardJobData,
  type ShardProgress,
  type ShardReturn,
  shardTopK,
  type StoreConnection,
  type SyncJobData,
  type SyncReturn,
  withInfraRetry,
  type WorkerHeartbeat,
  type WorkersRegistry,
  type Metrics,
} from '@rerank/jobs';
import { BusyTime, Throughput } from './busy-time';
import type { ShardScorer } from './engine-scorer';

/** What the worker needs of the job store. */
export type ShardJobs = StoreConnection & ShardProgress & Pick<JobRecords, 'shardContext'>;

export interface ShardWorkerDeps {
  jobs: ShardJobs;
  registry: Pick<WorkersRegistry, 'beat' | 'remove'>;
  scorer: ShardScorer;
  /**
   * Starts taking scoring tasks from the queue (BullMQ: consumeShards); `admitToTenantSlot` says
   * whether a waiting shard may take a tenant slot (RERANK_WORKER_TENANT_SLOTS).
   */
  consume: (
    handler: (data: ScoringJobData) => Promise<ShardReturn | SyncReturn>,
    admitToTenantSlot: (shard: ShardJobData) => boolean,
  ) => QueueConsumer;
  /** Worker id in heartbeats (default host-pid). */
  id?: string;
  log?: Logger;
  /** Pairs, shard durations and the busy ratio (WORKER_METRICS); none in unit tests. */
  metrics?: Metrics;
  /** Cancels of jobs and synchronous requests (Redis pub/sub): their scoring in flight is dropped at the next batch. */
  cancels?: Pick<CancelSignals, 'subscribe'>;
}

/** Each document's score: its best chunk's (pairs are in document order; documentOf[i] is pair i's document). */
export function bestChunks(scores: PairScore[], documentOf: number[], documents: number): PairScore[] {
  const best = new Array<PairScore>(documents);
  for (let i = 0; i < scores.length; i++) {
    const d = documentOf[i];
    if (best[d] === undefined || rankingScore(scores[i]) > rankingScore(best[d])) best[d] = scores[i];
  }
  return best;
}

/** Cancels a worker remembers, for work it takes after the cancel arrived. */
const RECENT_CANCELS = 1024;

/** Characters of the pairs (query + document each): the unit of the queue's cost. */
const pairChars = (pairs: readonly Pair[]) => pairs.reduce((n, [q, d]) => n + q.length + d.length, 0);

/** A task's schedule as the API made it; a task queued by an older API, which carried none, gets the shared tenant's. */
export function scheduleOf(data: ScoringJobData): Schedule {
  return data.schedule ?? (data.kind === 'shard' ? jobSchedule(SHARED_TENANT, data.jobId) : requestSchedule(SHARED_TENANT));
}

export class ShardWorker {
  private readonly log: Logger;
  readonly id: string;
  private readonly contexts = new Map<string, ShardContext>();
  private readonly jobs: ShardJobs;
  private consumer: QueueConsumer | undefined;
  private beat: NodeJS.Timeout | undefined;
  private state: WorkerHeartbeat['state'] = 'loading';
  private readonly startedAt = Date.now();
  private shardsScored = 0;
  private pairsScored = 0;
  /** Jobs of the shards being scored now (a job may have several). */
  private readonly running: string[] = [];
  /** Shards in hand per tenant, from reading their job's context to their end. */
  private readonly tenantShards = new Map<string, number>();
  /** Scoring in flight by what cancels it (`job:<id>`, `sync:<token>`). */
  private readonly cancellable = new Map<string, Set<AbortController>>();
  /** The latest cancels (bounded): work taken after its cancel arrived (a part fetched meanwhile) stops at once. */
  private readonly cancelled = new Set<string>();
  private stopping: Promise<void> | undefined;
  /** Time something was being scored: the busy ratio's and the throughput's. */
  private readonly busy = new BusyTime();
  private readonly throughput = new Throughput(this.busy);
  private lastReading = { at: Date.now(), busyMs: 0 };

  constructor(
    private readonly config: Pick<RerankConfig, 'worker' | 'redis'>,
    private readonly device: string,
    private readonly deps: ShardWorkerDeps,
  ) {
    this.id = deps.id ?? `${hostname()}-${process.pid}`;
    this.log = deps.log ?? createLogger(`worker ${device} pid ${process.pid}`);
    this.jobs = deps.jobs;
  }

  async start(): Promise<void> {
    await this.jobs.waitForConnection(30000);
    this.beat = setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS);
    this.beat.unref();
    await this.heartbeat();
    await this.deps.scorer.load();
    // Listening before taking work: a cancel published once a shard is in hand is not missed.
    await this.deps.cancels?.subscribe((t) => this.cancel(t));
    this.consumer = this.deps.consume(
      (data) => this.handle(data),
      (shard) => this.admitToTenantSlot(shard),
    );
    await this.consumer.waitUntilReady();
    this.state = 'ready';
    await this.heartbeat();
    this.log.info(`ready: ${this.deps.scorer.models().length} model(s) on ${this.device}, taking shards`);
  }

  private async heartbeat(): Promise<void> {
    const hb: WorkerHeartbeat = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      device: this.device,
      threads: this.config.worker.threads,
      state: this.state,
      models: this.deps.scorer.models(),
      startedAt: this.startedAt,
      beatAt: Date.now(),
      shardsScored: this.shardsScored,
      pairsScored: this.pairsScored,
      charsPerSecond: Math.round(this.throughput.sample()),
      current: this.running[0] ?? null,
    };
    try {
      await this.deps.registry.beat(hb);
    } catch (e) {
      this.log.warn(`heartbeat: ${(e as Error).message}`);
    }
  }

  /** One task from the shards queue. */
  async handle(data: ScoringJobData): Promise<ShardReturn | SyncReturn> {
    this.busy.start();
    try {
      if (data.kind === 'sync') return await this.scoreSync(data);
      return await this.scoreShard(data);
    } finally {
      this.busy.end();
    }
  }

  /** Share of the time since the previous reading that this worker was scoring (rerank_worker_busy_ratio). */
  readBusyRatio(now = Date.now()): number {
    const busyMs = this.busy.ms(now);
    const elapsed = now - this.lastReading.at;
    const ratio = elapsed > 0 ? Math.min(1, (busyMs - this.lastReading.busyMs) / elapsed) : 0;
    this.lastReading = { at: now, busyMs };
    this.deps.metrics?.gauge('rerank_worker_busy_ratio', { device: this.device }, ratio);
    return ratio;
  }

  /** A cancel arrived: scoring of that job or request stops at its next batch. */
  private cancel(t: CancelTarget): void {
    const key = `${t.kind}:${t.id}`;
    this.cancelled.add(key);
    if (this.cancelled.size > RECENT_CANCELS) this.cancelled.delete(this.cancelled.values().next().value as string);
    for (const c of this.cancellable.get(key) ?? []) c.abort(`${t.kind} ${t.id} cancelled`);
  }

  /** Runs `fn` with a signal that a cancel of `key` aborts (none without a key). */
  private async withCancel<T>(key: string | undefined, fn: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    if (key === undefined) return fn(undefined);
    const controller = new AbortController();
    if (this.cancelled.has(key)) controller.abort(`${key} cancelled`);
    let set = this.cancellable.get(key);
    if (!set) this.cancellable.set(key, (set = new Set()));
    set.add(controller);
    try {
      return await fn(controller.signal);
    } finally {
      set.delete(controller);
      if (set.size === 0) this.cancellable.delete(key);
    }
  }

  private async scoreSync(data: SyncJobData): Promise<SyncReturn> {
    const { scorer } = this.deps;
    const { pairs, documentOf } = await scorer.syncPairs(data);
    let scores: PairScore[];
    try {
      // Interactive: its batches go to the device ahead of the shards' (which only wait for the batches in flight).
      scores = await this.withCancel(data.cancel && `sync:${data.cancel}`, (signal) =>
        scorer.score(data.model, pairs, data.options, { ...scheduleOf(data), ...(signal ? { signal } : {}) }),
      );
    } catch (e) {
      // The client went away or timed out: nobody waits for the scores.
      if (e instanceof ScoringCancelledError) return { scores: [], pairs: 0, cancelled: true };
      throw e;
    }
    const tokens = await scorer.inputTokens(data.model, pairs, data.options);
    this.pairsScored += pairs.length;
    this.throughput.add(pairChars(pairs));
    this.deps.metrics?.counter('rerank_worker_pairs_scored_total', { device: this.device, model: data.model }, pairs.length);
    return { scores: documentOf ? bestChunks(scores, documentOf, data.documents.length) : scores, tokens, pairs: pairs.length };
  }

  private async context(jobId: string): Promise<ShardContext | null> {
    const cached = this.contexts.get(jobId);
    if (cached) return cached;
    const ctx = await this.jobs.shardContext(jobId);
    if (!ctx) return null;
    this.contexts.set(jobId, ctx);
    if (this.contexts.size > 64) this.contexts.delete(this.contexts.keys().next().value as string);
    return ctx;
  }

  /**
   * The tenant slots take a waiting shard only for a tenant holding fewer shards here than the
   * fixed slots: another tenant's job starts now instead of after the shards in flight, and the
   * device scheduler shares the device; the tenant filling the fixed slots gets no more.
   */
  admitToTenantSlot(shard: ShardJobData): boolean {
    return !this.stopping && (this.tenantShards.get(scheduleOf(shard).tenant) ?? 0) < this.config.worker.concurrency;
  }

  /** A Redis read or write of a shard, retried through infrastructure errors (RERANK_INFRA_RETRY_MS). */
  private redisOp<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withInfraRetry(fn, { budgetMs: this.config.redis.infraRetryMs, what, log: this.log });
  }

  private async scoreShard(d: ShardJobData): Promise<ShardReturn> {
    try {
      return await this.runShard(d);
    } catch (e) {
      if (!(e instanceof InfraRetryExhaustedError)) throw e;
      // Out of infrastructure retries: fail the shard for good with the reason (not another attempt).
      // The failure is itself a write: wait until Redis takes writes, so the queue can record it.
      this.log.error(`shard ${d.n} of job ${d.jobId}: ${e.message}; failing it once Redis takes writes again`);
      await this.jobs.waitUntilWritable(this.id);
      throw new PermanentTaskError('redis_unavailable', e.message);
    }
  }

  /** Two round trips of its own per shard: start (status, texts, running, run count) and progress. */
  private async runShard(d: ShardJobData): Promise<ShardReturn> {
    const ctx = await this.redisOp(`reading the layout of job ${d.jobId}`, () => this.context(d.jobId));
    if (!ctx) return { skipped: true, reason: 'job not found (expired or removed)' };
    const { tenant } = scheduleOf(d);
    this.tenantShards.set(tenant, (this.tenantShards.get(tenant) ?? 0) + 1);
    try {
      return await this.scoreInContext(d, ctx);
    } finally {
      const left = (this.tenantShards.get(tenant) ?? 1) - 1;
      if (left > 0) this.tenantShards.set(tenant, left);
      else this.tenantShards.delete(tenant);
    }
  }

  /** A shard of a job cancelled while it is in hand is dropped at the next batch (and skipped, not failed). */
  private scoreInContext(d: ShardJobData, ctx: ShardContext): Promise<ShardReturn> {
    return this.withCancel(`job:${d.jobId}`, async (signal) => {
      try {
        return await this.scoreStarted(d, ctx, signal);
      } catch (e) {
        if (!(e instanceof ScoringCancelledError)) throw e;
        this.log.info(`shard ${d.n} of job ${d.jobId}: job cancelled, its pairs not yet run dropped`, { job_id: d.jobId, shard: d.n });
        return { skipped: true, reason: 'job cancelled' };
      }
    });
  }

  private async scoreStarted(d: ShardJobData, ctx: ShardContext, signal: AbortSignal | undefined): Promise<ShardReturn> {
    const where = `shard ${d.n} of job ${d.jobId}`;
    const query = ctx.layout.queries[d.q];
    // Cancelled (or already failed) jobs: shards not started never run.
    const start = await this.redisOp(`starting ${where}`, () => this.jobs.startShard(d.jobId, d.n, flatIndices(ctx.layout, d.q, d.idx)));
    if (start.state === 'gone') return { skipped: true, reason: 'job not found (expired or removed)' };
    if (start.state === 'missing') return { skipped: true, reason: 'job documents not found (job ended)' };
    if (start.state !== 'ok') return { skipped: true, reason: `job ${start.state}` };
    const texts = start.texts;
    const pairs: Pair[] = texts.map((t) => [query.text, t]);

    this.running.push(d.jobId);
    const fields = { ...(ctx.requestId ? { request_id: ctx.requestId } : {}), job_id: d.jobId, shard: d.n };
    const t0 = process.hrtime.bigint();
    try {
      const s = await this.deps.scorer.score(d.model, pairs, ctx.options, { ...scheduleOf(d), ...(signal ? { signal } : {}) });
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      // The query's top-k is among its shards' top-k: the job's watchers see it improve, the aggregator takes texts from it.
      const best = shardTopK(d.idx, s, ctx.topK);
      const shard = { n: d.n, q: d.q, pairs: pairs.length, top: best.map((i) => ({ index: d.idx[i], score: s[i] })) };
      // Progress per shard number: a shard run again after a worker died overwrites its entry.
      // Once this write went through, the queue's completion write (the scores) almost surely goes through too.
      await this.redisOp(`recording the progress of ${where}`, () => this.jobs.recordShard(d.jobId, shard));
      this.shardsScored++;
      this.pairsScored += pairs.length;
      this.throughput.add(pairChars(pairs));
      const labels = { device: this.device, model: d.model };
      this.deps.metrics?.counter('rerank_worker_pairs_scored_total', labels, pairs.length);
      this.deps.metrics?.observe('rerank_worker_shard_duration_seconds', labels, seconds);
      this.log.info(`${where} scored: ${pairs.length} pairs in ${Math.round(seconds * 1000)} ms`, {
        ...fields,
        pairs: pairs.length,
        duration_ms: Math.round(seconds * 1000),
      });
      const result: ShardReturn = { q: d.q, idx: d.idx, s };
      if (ctx.returnDocuments) result.texts = best.map((i) => [d.idx[i], texts[i]]);
      return result;
    } finally {
      this.running.splice(this.running.indexOf(d.jobId), 1);
    }
  }

  /** SIGTERM: finish the current shard, then close the queue, the engine and the heartbeat. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping: finishing the shards being scored');
      this.state = 'stopping';
      await this.heartbeat();
      if (this.beat) clearInterval(this.beat);
      await this.consumer?.close();
      await this.deps.scorer.close();
      await this.deps.registry.remove(this.id).catch(() => undefined);
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
