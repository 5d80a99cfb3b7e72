import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ApiError, isRedisUnavailable, rankingScore, type RerankConfig, type ScoringQueue, type SyncJobData, topK, validateRerankRequest } from '@rerank/jobs';
import { BackpressureService } from './backpressure';
import { ModelsService } from './models.service';
import { RateLimitService } from './rate-limit.service';
import { CONFIG, SCORING_QUEUE } from './tokens';

/**
 * Synchronous reranking (Cohere v1/v2, Jina shapes). The API holds no model: the request becomes a
 * small job without priority (so it goes before queued shards) and the API waits for its result.
 */
@Injectable()
export class RerankService {
  private readonly log = new Logger('rerank');

  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    @Inject(SCORING_QUEUE) private readonly queues: ScoringQueue,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
    private readonly backpressure: BackpressureService,
  ) {}

  /** The request's texts leave Redis once it is answered (BullMQ would keep a completed job's data for removeOnComplete's age). */
  private async drop(id: string): Promise<void> {
    await this.queues.removeSync(id).catch((e: Error) => this.log.warn(`sync request ${id}: removing it from Redis: ${e.message} (it expires within 60 s)`));
  }

  async rerank(body: unknown, version: 1 | 2, owner: string, res: ServerResponse) {
    const req = validateRerankRequest(body, { limits: this.config.limits, models: this.models.known() }, version);
    await this.rateLimits.consumePairs(owner, req.documents.length, res, 'documents');
    const data: SyncJobData = { kind: 'sync', model: req.model, query: req.query, documents: req.documents, options: req.options };
    await this.backpressure.admit(req.documents.length, req.documents.reduce((n, d) => n + d.length, req.query.length));
    let id: string;
    try {
      id = await this.queues.addSyncShard(data);
    } catch (e) {
      if (!isRedisUnavailable(e)) throw e;
      throw new ApiError(503, 'queue_unavailable', `the request could not be queued (${(e as Error).message}); retry later`);
    }
    const outcome = await this.queues.waitForSync(id, this.config.syncTimeoutMs);
    if (outcome.state === 'failed') {
      await this.drop(id);
      throw new ApiError(500, 'scoring_failed', `scoring failed: ${outcome.error}`);
    }
    if (outcome.state === 'timeout') {
      // Not done in time: take it back if no worker has started it; a running one goes once it ends.
      if (outcome.active) void this.queues.waitForSync(id, this.config.syncTimeoutMs).then(() => this.drop(id), () => this.drop(id));
      else await this.drop(id);
      throw new ApiError(
        504,
        'timeout',
        `no worker finished the request within ${this.config.syncTimeoutMs} ms (RERANK_SYNC_TIMEOUT_MS); check GET /health/ready for live workers, or submit it as a job (POST /v1/jobs)`,
      );
    }
    await this.drop(id);
    const out = outcome.value;
    const ranked = topK(out.scores, req.topN);
    return {
      id: randomUUID(),
      results: ranked.map((r) => ({
        index: r.index,
        relevance_score: rankingScore(r.score),
        ...(req.returnDocuments ? { document: { text: req.documents[r.index] } } : {}),
      })),
      meta: { api_version: { version: String(version) }, billed_units: { search_units: 1 } },
      model: req.model,
      usage: { documents: req.documents.length, search_units: 1 },
    };
  }
}
