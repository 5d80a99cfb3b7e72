import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job } from 'bullmq';
import { ApiError, isRedisUnavailable, rankingScore, type RerankConfig, type SyncJobData, type SyncReturn, topK, validateRerankRequest } from '@rerank/jobs';
import { BackpressureService } from './backpressure';
import { ModelsService } from './models.service';
import { QueueService } from './queue.service';
import { RateLimitService } from './rate-limit.service';
import { CONFIG } from './tokens';

/**
 * Synchronous reranking (Cohere v1/v2, Jina shapes). The API holds no model: the request becomes a
 * small job without priority (so it goes before queued shards) and the API waits for its result.
 */
@Injectable()
export class RerankService {
  private readonly log = new Logger('rerank');

  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    private readonly queues: QueueService,
    private readonly models: ModelsService,
    private readonly rateLimits: RateLimitService,
    private readonly backpressure: BackpressureService,
  ) {}

  /** The request's texts leave Redis once it is answered (BullMQ would keep a completed job's data for removeOnComplete's age). */
  private async drop(job: Job<SyncJobData>): Promise<void> {
    await job.remove().catch((e: Error) => this.log.warn(`sync request ${job.id}: removing it from Redis: ${e.message} (it expires within 60 s)`));
  }

  async rerank(body: unknown, version: 1 | 2, owner: string, res: ServerResponse) {
    const req = validateRerankRequest(body, { limits: this.config.limits, models: this.models.known() }, version);
    await this.rateLimits.consumePairs(owner, req.documents.length, res, 'documents');
    const data: SyncJobData = { kind: 'sync', model: req.model, query: req.query, documents: req.documents, options: req.options };
    await this.backpressure.admit(req.documents.length, req.documents.reduce((n, d) => n + d.length, req.query.length));
    let job: Job<SyncJobData>;
    try {
      job = (await this.queues.shards.add('sync', data, { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 600 } })) as Job<SyncJobData>;
    } catch (e) {
      if (!isRedisUnavailable(e)) throw e;
      throw new ApiError(503, 'queue_unavailable', `the request could not be queued (${(e as Error).message}); retry later`);
    }
    let out: SyncReturn;
    try {
      out = (await job.waitUntilFinished(this.queues.shardEvents, this.config.syncTimeoutMs)) as SyncReturn;
    } catch (e) {
      const state = await job.getState().catch(() => 'unknown');
      if (state === 'failed') {
        await this.drop(job);
        throw new ApiError(500, 'scoring_failed', `scoring failed: ${(e as Error).message}`);
      }
      // Not done in time: take it back if no worker has started it; a running one goes once it ends.
      if (state === 'active') void job.waitUntilFinished(this.queues.shardEvents, this.config.syncTimeoutMs).then(() => this.drop(job), () => this.drop(job));
      else await this.drop(job);
      throw new ApiError(
        504,
        'timeout',
        `no worker finished the request within ${this.config.syncTimeoutMs} ms (RERANK_SYNC_TIMEOUT_MS); check GET /health/ready for live workers, or submit it as a job (POST /v1/jobs)`,
      );
    }
    await this.drop(job);
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
