/**
 * One worker process pinned to one device: loads every configured model once, then scores shards
 * (and synchronous requests) from the `shards` queue, `RERANK_WORKER_CONCURRENCY` at a time.
 */
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type AnyReranker, AutoReranker, type Family, type Pair, RerankerArgumentError, type ScoreOverrides } from '@rerank/engine';
import {
  createLogger,
  createRedis,
  HEARTBEAT_INTERVAL_MS,
  InfraRetryExhaustedError,
  type JobLayout,
  JobStore,
  type ModelConfig,
  type ModelFacts,
  type PairScore,
  QUEUE_SHARDS,
  rankingScore,
  readModelFacts,
  type RerankConfig,
  type ScoringJobData,
  type ShardJobData,
  type ShardReturn,
  type SyncJobData,
  type SyncReturn,
  waitForRedis,
  waitUntilWritable,
  withInfraRetry,
  type WorkerHeartbeat,
  workerQueueOptions,
  WorkersRegistry,
} from '@rerank/jobs';
import { cutToTokens, keepLastTokens, splitIntoChunks } from './document-budget';

interface LoadedEntry {
  config: ModelConfig;
  reranker: AnyReranker;
  family: Family;
  facts: ModelFacts;
}

interface JobContext {
  layout: JobLayout;
  options: ScoreOverrides;
}

/** Each document's score: its best chunk's (pairs are in document order; owners[i] is pair i's document). */
export function bestChunks(scores: PairScore[], owners: number[], documents: number): PairScore[] {
  const best: PairScore[] = new Array(documents);
  for (let i = 0; i < scores.length; i++) {
    const d = owners[i];
    if (best[d] === undefined || rankingScore(scores[i]) > rankingScore(best[d])) best[d] = scores[i];
  }
  return best;
}

export class ShardWorker {
  private readonly log;
  private readonly id: string;
  private readonly models = new Map<string, LoadedEntry>();
  private readonly contexts = new Map<string, JobContext>();
  private readonly redis: Redis;
  private readonly store: JobStore;
  private readonly registry: WorkersRegistry;
  private bull: Worker<ScoringJobData, ShardReturn | SyncReturn> | undefined;
  private beat: NodeJS.Timeout | undefined;
  private state: WorkerHeartbeat['state'] = 'loading';
  private readonly startedAt = Date.now();
  private shardsScored = 0;
  private pairsScored = 0;
  /** Jobs of the shards being scored now (a job may have several). */
  private readonly running: string[] = [];
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: RerankConfig,
    private readonly device: string,
  ) {
    this.id = `${hostname()}-${process.pid}`;
    this.log = createLogger(`worker ${device} pid ${process.pid}`);
    this.redis = createRedis(config.redisUrl, { name: 'rerank-worker' });
    this.store = new JobStore(this.redis);
    this.registry = new WorkersRegistry(this.redis);
  }

  async start(): Promise<void> {
    await waitForRedis(this.redis, 30000);
    this.beat = setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS);
    this.beat.unref();
    await this.heartbeat();
    for (const m of this.config.models) {
      const t = Date.now();
      const { hub } = this.config;
      const reranker = await AutoReranker.fromFinetuned(m.path, {
        // Hub settings from the configuration; a model's own options win.
        ...(hub.endpoint ? { hubEndpoint: hub.endpoint } : {}),
        ...(hub.token ? { hubToken: hub.token } : {}),
        ...(hub.offline ? { offline: true } : {}),
        ...(m.options ?? {}),
        ...(m.family ? { family: m.family } : {}),
        ...(this.config.cacheDir ? { cacheDir: this.config.cacheDir } : {}),
        devices: [this.device],
        intraOpNumThreads: this.config.threads,
        onWarning: (w: string) => this.log.warn(`${m.name}: ${w}`),
      });
      await reranker.ready();
      const facts = readModelFacts(reranker.modelNameOrPath, reranker.family);
      if (m.generated) facts.generated = true;
      this.models.set(m.name, { config: m, reranker, family: reranker.family, facts });
      this.log.info(`model ${m.name} (${reranker.family}${facts.generated ? ', GENERATED TEST MODEL' : ''}) loaded from ${reranker.modelNameOrPath} in ${Date.now() - t} ms, ${this.config.threads} thread(s)`);
    }
    this.bull = new Worker<ScoringJobData, ShardReturn | SyncReturn>(QUEUE_SHARDS, (job) => this.process(job), {
      connection: createRedis(this.config.redisUrl, { blocking: true, name: 'rerank-worker-bull' }),
      concurrency: this.config.workerConcurrency,
      ...workerQueueOptions(this.config),
    });
    // While Redis refuses writes every fetch fails: log the queue's errors at most every 5 s.
    let lastQueueError = 0;
    this.bull.on('error', (e) => {
      if (Date.now() - lastQueueError < 5000) return;
      lastQueueError = Date.now();
      this.log.error(`queue: ${e.message}`);
    });
    this.bull.on('failed', (job, e) => job && this.log.warn(`${job.name} ${job.id} failed (attempt ${job.attemptsMade}): ${e.message}`));
    await this.bull.waitUntilReady();
    this.state = 'ready';
    await this.heartbeat();
    this.log.info(`ready: ${this.models.size} model(s) on ${this.device}, taking shards`);
  }

  private async heartbeat(): Promise<void> {
    const hb: WorkerHeartbeat = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      device: this.device,
      threads: this.config.threads,
      state: this.state,
      models: [...this.models.entries()].map(([name, e]) => ({
        name,
        family: e.family,
        generated: e.facts.generated,
        ...(e.facts.layers ? { layers: e.facts.layers } : {}),
        ...(e.facts.compression ? { compression: e.facts.compression } : {}),
        ...(e.facts.maxPositions !== undefined ? { maxPositions: e.facts.maxPositions } : {}),
        ...(e.facts.decoderParts ? { decoderParts: e.facts.decoderParts } : {}),
      })),
      startedAt: this.startedAt,
      beatAt: Date.now(),
      shardsScored: this.shardsScored,
      pairsScored: this.pairsScored,
      current: this.running[0] ?? null,
    };
    try {
      await this.registry.beat(hb);
    } catch (e) {
      this.log.warn(`heartbeat: ${(e as Error).message}`);
    }
  }

  private async process(job: Job<ScoringJobData>): Promise<ShardReturn | SyncReturn> {
    const data = job.data;
    if (data.kind === 'sync') return this.scoreSync(data);
    return this.scoreShard(data);
  }

  private model(name: string): AnyReranker {
    const entry = this.models.get(name);
    // Every worker loads every configured model; a miss is a configuration mismatch between processes.
    if (!entry) throw new Error(`model "${name}" is not loaded on worker ${this.id} (${this.device}); serve the same RERANK_MODELS everywhere`);
    return entry.reranker;
  }

  /** Pair-major, whatever the family: a number per pair, or a list per pair when several layers. */
  private score(model: string, pairs: Pair[], options: ScoreOverrides): Promise<PairScore[]> {
    return this.guarded(() => this.model(model).score(pairs, options));
  }

  private async scoreSync(data: SyncJobData): Promise<SyncReturn> {
    const { pairs, owners } = await this.syncPairs(data);
    const scores = await this.score(data.model, pairs, data.options);
    const tokens = await this.inputTokens(data.model, pairs, data.options);
    this.pairsScored += pairs.length;
    return { scores: owners ? bestChunks(scores, owners, data.documents.length) : scores, tokens, pairs: pairs.length };
  }

  /** A sync request's pairs: documents cut to max_tokens_per_doc, then split into chunks (owners: the document of each pair). */
  private async syncPairs(data: SyncJobData): Promise<{ pairs: Pair[]; owners: number[] | null }> {
    const reranker = this.model(data.model);
    const count = async (text: string) => (await reranker.tokenIds(text)).length;
    const cap = data.maxTokensPerDoc;
    let docs = cap === undefined ? data.documents : await Promise.all(data.documents.map((d) => cutToTokens(d, cap, count)));
    if (data.maxChunksPerDoc === undefined && !data.truncateLeft) return { pairs: docs.map((d) => [data.query, d]), owners: null };
    // Room for the passage beside this query: maxLength minus the query part and the template.
    const frame = await this.guarded(() => reranker.inspectInputs([[data.query, '']], data.options));
    const budget = this.guardedSync(() => reranker.maxLengthFor(data.options)) - frame[0].inputIds.length;
    if (budget >= 1 && data.truncateLeft) docs = await Promise.all(docs.map((d) => keepLastTokens(d, budget, count)));
    if (budget < 1 || data.maxChunksPerDoc === undefined) return { pairs: docs.map((d) => [data.query, d]), owners: null };
    const pairs: Pair[] = [];
    const owners: number[] = [];
    for (let i = 0; i < docs.length; i++) {
      for (const chunk of await splitIntoChunks(docs[i], budget, data.maxChunksPerDoc, count)) {
        pairs.push([data.query, chunk]);
        owners.push(i);
      }
    }
    return { pairs, owners };
  }

  /** Tokens the model reads for these pairs (special tokens included), as scoring builds them. */
  private async inputTokens(model: string, pairs: Pair[], options: ScoreOverrides): Promise<number> {
    const inputs = await this.guarded(() => this.model(model).inspectInputs(pairs, options));
    return inputs.reduce((n, p) => n + p.inputIds.length, 0);
  }

  /** A bad option fails the same way on every retry. */
  private async guarded<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof RerankerArgumentError) throw new UnrecoverableError(e.message);
      throw e;
    }
  }

  private guardedSync<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof RerankerArgumentError) throw new UnrecoverableError(e.message);
      throw e;
    }
  }

  private async context(jobId: string): Promise<JobContext | null> {
    const cached = this.contexts.get(jobId);
    if (cached) return cached;
    const [layout, options] = await Promise.all([this.store.layout(jobId), this.store.options(jobId)]);
    if (!layout) return null;
    const ctx: JobContext = { layout, options: options ?? {} };
    this.contexts.set(jobId, ctx);
    if (this.contexts.size > 64) this.contexts.delete(this.contexts.keys().next().value as string);
    return ctx;
  }

  /** A Redis read or write of a shard, retried through infrastructure errors (RERANK_INFRA_RETRY_MS). */
  private redisOp<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withInfraRetry(fn, { budgetMs: this.config.infraRetryMs, what, log: this.log });
  }

  private async scoreShard(d: ShardJobData): Promise<ShardReturn> {
    try {
      return await this.runShard(d);
    } catch (e) {
      if (!(e instanceof InfraRetryExhaustedError)) throw e;
      // Out of infrastructure retries: fail the shard for good with the reason (not another attempt).
      // The failure is itself a write: wait until Redis takes writes, so BullMQ can record it.
      this.log.error(`shard ${d.n} of job ${d.jobId}: ${e.message}; failing it once Redis takes writes again`);
      await waitUntilWritable(this.redis, `rerank:probe:${this.id}`);
      throw new UnrecoverableError(e.message);
    }
  }

  private async runShard(d: ShardJobData): Promise<ShardReturn> {
    const where = `shard ${d.n} of job ${d.jobId}`;
    // Cancelled (or already failed) jobs: shards not started never run.
    const status = await this.redisOp(`reading the status of job ${d.jobId}`, () => this.store.status(d.jobId));
    if (status === null) return { skipped: true, reason: 'job not found (expired or removed)' };
    if (JobStore.isTerminal(status)) return { skipped: true, reason: `job ${status}` };
    const ctx = await this.redisOp(`reading the layout of job ${d.jobId}`, () => this.context(d.jobId));
    if (!ctx) return { skipped: true, reason: 'job layout not found' };
    const query = ctx.layout.queries[d.q];
    const set = ctx.layout.sets[query.set];
    const texts = await this.redisOp(`reading the texts of ${where}`, () => this.store.documents(d.jobId, d.idx.map((i) => set.offset + i)));
    if (texts.some((t) => t === null)) return { skipped: true, reason: 'job documents not found (job ended)' };
    const pairs: Pair[] = texts.map((t) => [query.text, t as string]);

    await this.redisOp(`marking job ${d.jobId} running`, () => this.store.markRunning(d.jobId));
    await this.redisOp(`counting a run of ${where}`, () => this.store.noteShardRun(d.jobId, d.n));
    this.running.push(d.jobId);
    try {
      const s = await this.score(d.model, pairs, ctx.options);
      // Progress per shard number: a shard run again after a worker died overwrites its entry.
      // Once this write went through, BullMQ's completion write (the scores) almost surely goes through too.
      await this.redisOp(`recording the progress of ${where}`, () => this.store.recordShard(d.jobId, d.n, pairs.length));
      this.shardsScored++;
      this.pairsScored += pairs.length;
      return { q: d.q, idx: d.idx, s };
    } finally {
      this.running.splice(this.running.indexOf(d.jobId), 1);
    }
  }

  /** SIGTERM: finish the current shard, then close the queue, the engine and Redis. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping: finishing the shards being scored');
      this.state = 'stopping';
      await this.heartbeat();
      if (this.beat) clearInterval(this.beat);
      await this.bull?.close();
      for (const e of this.models.values()) await e.reranker.close();
      await this.registry.remove(this.id).catch(() => undefined);
      await this.redis.quit().catch(() => undefined);
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
