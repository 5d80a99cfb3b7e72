/**
 * The worker's scorer on the engine: loads its models (RERANK_WORKER_MODELS, default every configured
 * model) once on one device and scores
 * pairs pair-major. The shard worker sees only the ShardScorer interface (a fake in unit tests).
 */
import {
  type AnyReranker,
  AutoReranker,
  type BatchStats,
  type Family,
  ModelRunError,
  type Pair,
  RerankerArgumentError,
  type ScoreOverrides,
  type ScoreSchedule,
} from '@rerank/engine';
import {
  type Logger,
  type Metrics,
  type ModelConfig,
  type ModelFacts,
  type PairScore,
  PermanentTaskError,
  readModelFacts,
  type RerankConfig,
  type SyncJobData,
  type WorkerModel,
} from '@rerank/jobs';
import { cutToTokens, keepLastTokens, splitIntoChunks } from './document-budget';

/** A synchronous request's pairs; `documentOf[i]` is the document of pair i when documents were split into chunks. */
export interface SyncPairs {
  pairs: Pair[];
  documentOf: number[] | null;
}

export interface ShardScorer {
  /** Loads the worker's models (once). */
  load(): Promise<void>;
  /**
   * Pair-major scores: a number per pair, or a list per pair when several layers. Throws PermanentTaskError for bad options.
   * `schedule` orders this call's batches on the device against other calls' (the task's schedule as the API made it).
   */
  score(model: string, pairs: Pair[], options: ScoreOverrides, schedule: ScoreSchedule): Promise<PairScore[]>;
  /** A sync request's pairs: documents cut to max_tokens_per_doc (or kept from the end), then split into chunks. */
  syncPairs(data: SyncJobData): Promise<SyncPairs>;
  /** Tokens the model reads for these pairs (special tokens included), as scoring builds them. */
  inputTokens(model: string, pairs: Pair[], options: ScoreOverrides): Promise<number>;
  /** What the heartbeat advertises. */
  models(): WorkerModel[];
  close(): Promise<void>;
}

interface LoadedEntry {
  config: ModelConfig;
  reranker: AnyReranker;
  family: Family;
  facts: ModelFacts;
}

export class EngineScorer implements ShardScorer {
  private readonly loaded = new Map<string, LoadedEntry>();

  constructor(
    private readonly config: Pick<RerankConfig, 'models' | 'worker'>,
    private readonly device: string,
    private readonly log: Logger,
    /** Says who is asking in the "not loaded" error. */
    private readonly workerId: string,
    /** Tokens, padding efficiency and model load time (WORKER_METRICS). */
    private readonly metrics?: Metrics,
  ) {}

  async load(): Promise<void> {
    for (const m of this.config.models.list.filter((x) => this.config.worker.models.includes(x.name))) {
      const t = Date.now();
      const { hub } = this.config.models;
      const reranker = await AutoReranker.fromFinetuned(m.path, {
        // Hub settings from the configuration; a model's own options win.
        ...(hub.endpoint ? { hubEndpoint: hub.endpoint } : {}),
        ...(hub.token ? { hubToken: hub.token } : {}),
        ...(hub.offline ? { offline: true } : {}),
        ...(m.options ?? {}),
        ...(m.family ? { family: m.family } : {}),
        ...(this.config.models.cacheDir ? { cacheDir: this.config.models.cacheDir } : {}),
        devices: [this.device],
        intraOpNumThreads: this.config.worker.threads,
        onWarning: (w: string) => this.log.warn(`${m.name}: ${w}`),
        ...(this.metrics ? { onBatch: (b: BatchStats) => this.batchScored(m.name, b) } : {}),
      });
      await reranker.ready();
      const facts = readModelFacts(reranker.modelNameOrPath, reranker.family);
      if (m.generated) facts.generated = true;
      this.loaded.set(m.name, { config: m, reranker, family: reranker.family, facts });
      this.metrics?.gauge('rerank_worker_model_load_seconds', { device: this.device, model: m.name }, (Date.now() - t) / 1000);
      this.log.info(
        `model ${m.name} (${reranker.family}${facts.generated ? ', GENERATED TEST MODEL' : ''}) loaded from ${reranker.modelNameOrPath} in ${Date.now() - t} ms, ${this.config.worker.threads} thread(s)`,
      );
    }
  }

  /** One batch a device ran (a cancelled call's too): its pairs, real tokens scored, and real / padded tokens. */
  private batchScored(model: string, b: BatchStats): void {
    const labels = { device: this.device, model };
    this.metrics?.counter('rerank_worker_pairs_run_total', labels, b.rows);
    this.metrics?.counter('rerank_worker_tokens_scored_total', labels, b.realTokens);
    if (b.paddedTokens > 0) this.metrics?.observe('rerank_worker_batch_padding_efficiency', labels, b.realTokens / b.paddedTokens);
  }

  async score(model: string, pairs: Pair[], options: ScoreOverrides, schedule: ScoreSchedule): Promise<PairScore[]> {
    const reranker = this.reranker(model);
    try {
      return await permanentOnBadArguments(() => reranker.score(pairs, options, schedule));
    } catch (e) {
      // The same batch fails the same way on every attempt; clients see the model's name, not the server's path.
      if (e instanceof ModelRunError)
        throw new PermanentTaskError('model_failed', `model "${model}" ${ModelRunError.describe(e.device, e.batch, e.runtimeMessage)}`);
      throw e;
    }
  }

  async syncPairs(data: SyncJobData): Promise<SyncPairs> {
    const reranker = this.reranker(data.model);
    const count = async (text: string) => (await reranker.tokenIds(text)).length;
    const cap = data.maxTokensPerDoc;
    let docs = cap === undefined ? data.documents : await Promise.all(data.documents.map((d) => cutToTokens(d, cap, count)));
    const whole = (texts: string[]): SyncPairs => ({ pairs: texts.map((d) => [data.query, d]), documentOf: null });
    if (data.maxChunksPerDoc === undefined && !data.truncateLeft) return whole(docs);
    // Room for the passage beside this query: maxLength minus the query part and the template.
    const frame = await permanentOnBadArguments(() => reranker.inspectInputs([[data.query, '']], data.options));
    const budget = (await permanentOnBadArguments(() => reranker.maxLengthFor(data.options))) - frame[0].inputIds.length;
    if (budget >= 1 && data.truncateLeft) docs = await Promise.all(docs.map((d) => keepLastTokens(d, budget, count)));
    if (budget < 1 || data.maxChunksPerDoc === undefined) return whole(docs);
    const pairs: Pair[] = [];
    const documentOf: number[] = [];
    for (let i = 0; i < docs.length; i++) {
      for (const chunk of await splitIntoChunks(docs[i], budget, data.maxChunksPerDoc, count)) {
        pairs.push([data.query, chunk]);
        documentOf.push(i);
      }
    }
    return { pairs, documentOf };
  }

  async inputTokens(model: string, pairs: Pair[], options: ScoreOverrides): Promise<number> {
    const reranker = this.reranker(model);
    const inputs = await permanentOnBadArguments(() => reranker.inspectInputs(pairs, options));
    return inputs.reduce((n, p) => n + p.inputIds.length, 0);
  }

  private reranker(model: string): AnyReranker {
    const entry = this.loaded.get(model);
    // A worker consumes only its models' queues: a miss is a configuration mismatch between processes.
    if (!entry)
      throw new Error(
        `model "${model}" is not loaded on worker ${this.workerId} (${this.device}); it serves ${[...this.loaded.keys()].join(', ') || 'no model'} (RERANK_WORKER_MODELS); serve the same RERANK_MODELS everywhere`,
      );
    return entry.reranker;
  }

  models(): WorkerModel[] {
    return [...this.loaded.entries()].map(([name, e]) => ({
      name,
      family: e.family,
      generated: e.facts.generated,
      ...(e.facts.layers ? { layers: e.facts.layers } : {}),
      ...(e.facts.compression ? { compression: e.facts.compression } : {}),
      ...(e.facts.maxPositions !== undefined ? { maxPositions: e.facts.maxPositions } : {}),
      ...(e.facts.decoderParts ? { decoderParts: e.facts.decoderParts } : {}),
      ...(e.facts.maxLength !== undefined ? { maxLength: e.facts.maxLength } : {}),
      ...(e.facts.truncation ? { truncation: e.facts.truncation } : {}),
      ...(e.facts.chatFrame !== undefined ? { chatFrame: e.facts.chatFrame } : {}),
    }));
  }

  async close(): Promise<void> {
    for (const e of this.loaded.values()) await e.reranker.close();
  }
}

/** A bad option fails the same way on every retry: a permanent failure, not a retried one. */
async function permanentOnBadArguments<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof RerankerArgumentError) throw new PermanentTaskError('bad_options', e.message);
    throw e;
  }
}
