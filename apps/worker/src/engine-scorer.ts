/**
 * The worker's scorer on the engine: loads every configured model once on one device and scores
 * pairs pair-major. The shard worker sees only the ShardScorer interface (a fake in unit tests).
 */
import { type AnyReranker, AutoReranker, type Family, type Pair, RerankerArgumentError, type ScoreOverrides } from '@rerank/engine';
import { type Logger, type ModelConfig, type ModelFacts, type PairScore, PermanentTaskError, readModelFacts, type RerankConfig, type WorkerModel } from '@rerank/jobs';

export interface ShardScorer {
  /** Loads every model (once). */
  load(): Promise<void>;
  /** Pair-major scores: a number per pair, or a list per pair when several layers. Throws PermanentTaskError for bad options. */
  score(model: string, pairs: Pair[], options: ScoreOverrides): Promise<PairScore[]>;
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
    private readonly config: RerankConfig,
    private readonly device: string,
    private readonly log: Logger,
    /** Says who is asking in the "not loaded" error. */
    private readonly workerId: string,
  ) {}

  async load(): Promise<void> {
    for (const m of this.config.models) {
      const t = Date.now();
      const reranker = await AutoReranker.fromFinetuned(m.path, {
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
      this.loaded.set(m.name, { config: m, reranker, family: reranker.family, facts });
      this.log.info(`model ${m.name} (${reranker.family}${facts.generated ? ', GENERATED TEST MODEL' : ''}) loaded from ${reranker.modelNameOrPath} in ${Date.now() - t} ms, ${this.config.threads} thread(s)`);
    }
  }

  async score(model: string, pairs: Pair[], options: ScoreOverrides): Promise<PairScore[]> {
    const entry = this.loaded.get(model);
    // Every worker loads every configured model; a miss is a configuration mismatch between processes.
    if (!entry) throw new Error(`model "${model}" is not loaded on worker ${this.workerId} (${this.device}); serve the same RERANK_MODELS everywhere`);
    try {
      return await entry.reranker.score(pairs, options);
    } catch (e) {
      // A bad option fails the same way on every retry.
      if (e instanceof RerankerArgumentError) throw new PermanentTaskError(e.message);
      throw e;
    }
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
    }));
  }

  async close(): Promise<void> {
    for (const e of this.loaded.values()) await e.reranker.close();
  }
}
