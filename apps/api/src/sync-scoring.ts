/**
 * Scoring for synchronous requests: the API holds no model, so the documents go to the shard queue
 * as sync jobs carrying their texts, ahead of asynchronous shards, and the API waits for them. A large
 * request (up to RERANK_SYNC_MAX_DOCUMENTS) is cut like a job's shards so several workers share it.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError, type PairScore, type RerankConfig, type ScoringQueue, type SyncJobData } from '@rerank/jobs';
import { BackpressureService, storeRefusal } from './backpressure';
import { ModelsService } from './models.service';
import { CONFIG, SCORING_QUEUE } from './tokens';

/** A synchronous request as the queue carries it (its parts are SyncJobData, each with the request's schedule). */
export type SyncScoringRequest = Omit<SyncJobData, 'kind'> & Required<Pick<SyncJobData, 'schedule'>>;

export interface SyncScores {
  /** One per document, in document order. */
  scores: PairScore[];
  /** Tokens the model read (usage.total_tokens). */
  tokens: number;
  /** Pairs scored (chunks count separately). */
  pairs: number;
}

/** Consecutive slices of at most `maxPairs` documents and about `maxChars` characters (query included per pair). */
export function sliceDocuments(query: string, documents: readonly string[], maxPairs: number, maxChars: number): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  let chars = 0;
  for (let i = 0; i < documents.length; i++) {
    const cost = query.length + documents[i].length;
    if (i > start && (i - start >= maxPairs || chars + cost > maxChars)) {
      out.push([start, i]);
      start = i;
      chars = 0;
    }
    chars += cost;
  }
  out.push([start, documents.length]);
  return out;
}

/** Queues a synchronous request's parts, waits for them, and takes their texts out of Redis again. */
@Injectable()
export class SyncScoring {
  private readonly log = new Logger('sync');

  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'api' | 'shard'>,
    @Inject(SCORING_QUEUE) private readonly queue: ScoringQueue,
    private readonly backpressure: BackpressureService,
    private readonly models: ModelsService,
  ) {}

  /** A part's texts leave Redis once it is answered (BullMQ would keep a completed job's data for removeOnComplete's age). */
  private async drop(id: string): Promise<void> {
    await this.queue
      .removeSync(id)
      .catch((e: Error) => this.log.warn(`sync request ${id}: removing it from Redis: ${e.message} (it expires within 60 s)`));
  }

  async score(req: SyncScoringRequest): Promise<SyncScores> {
    const { config, queue } = this;
    // Redis down, nearly full, or too much queued: 503 with Retry-After before anything is written.
    await this.backpressure.admit(
      req.documents.length,
      req.documents.reduce((n, d) => n + d.length, req.query.length),
    );
    // Then a model no live worker serves (placement): 503 with Retry-After, nothing queued.
    await this.models.requireServed(req.model, 'sync');
    const slices = sliceDocuments(req.query, req.documents, config.shard.maxPairs, config.shard.maxChars);
    const data = (s: [number, number]): SyncJobData => ({
      kind: 'sync',
      model: req.model,
      query: req.query,
      documents: req.documents.slice(s[0], s[1]),
      options: req.options,
      ...(req.maxTokensPerDoc !== undefined ? { maxTokensPerDoc: req.maxTokensPerDoc } : {}),
      ...(req.maxChunksPerDoc !== undefined ? { maxChunksPerDoc: req.maxChunksPerDoc } : {}),
      ...(req.truncateLeft ? { truncateLeft: true } : {}),
      schedule: req.schedule,
    });
    let ids: string[];
    try {
      ids = await Promise.all(slices.map((s) => queue.addSyncShard(data(s))));
    } catch (e) {
      throw storeRefusal(e, 'queue_unavailable') ?? e;
    }
    const deadline = Date.now() + config.api.syncTimeoutMs;
    const outcomes = await Promise.all(ids.map((id) => queue.waitForSync(id, Math.max(1, deadline - Date.now()))));
    const scores: SyncScores = { scores: [], tokens: 0, pairs: 0 };
    const drops: Promise<void>[] = [];
    let failure: string | undefined;
    let late = false;
    for (const [i, o] of outcomes.entries()) {
      if (o.state === 'completed') {
        scores.scores.push(...o.value.scores);
        scores.tokens += o.value.tokens ?? 0;
        scores.pairs += o.value.pairs ?? o.value.scores.length;
        drops.push(this.drop(ids[i]));
      } else if (o.state === 'failed') {
        failure ??= o.error;
        drops.push(this.drop(ids[i]));
      } else {
        late = true;
        // Not done in time: a running part goes once it ends; one nobody took goes now.
        if (o.active)
          void queue.waitForSync(ids[i], config.api.syncTimeoutMs).then(
            () => this.drop(ids[i]),
            () => this.drop(ids[i]),
          );
        else drops.push(this.drop(ids[i]));
      }
    }
    await Promise.all(drops);
    if (failure !== undefined) throw new ApiError(500, 'scoring_failed', `scoring failed: ${failure}`);
    if (late) {
      throw new ApiError(
        504,
        'timeout',
        `no worker finished the request within ${config.api.syncTimeoutMs} ms (RERANK_SYNC_TIMEOUT_MS): ${req.documents.length} documents in ${ids.length} part(s); ` +
          'check GET /health/ready for live workers, or submit it as an asynchronous job: POST /v1/jobs with the same query and documents, then GET /v1/jobs/{id}/results',
        { extra: { jobs_url: '/v1/jobs' } },
      );
    }
    return scores;
  }
}
