/**
 * Scoring for synchronous requests: the API holds no model, so the documents go to the shard queue
 * as sync jobs carrying their texts, ahead of asynchronous shards, and the API waits for them. A large
 * request (up to RERANK_SYNC_MAX_DOCUMENTS) is cut like a job's shards so several workers share it.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type Job } from 'bullmq';
import type { ScoreOverrides } from '@rerank/engine';
import { ApiError, isRedisUnavailable, type PairScore, type RerankConfig, type SyncJobData, syncPriority, type SyncReturn } from '@rerank/jobs';
import { BackpressureService } from './backpressure';
import { QueueService } from './queue.service';
import { CONFIG } from './tokens';

export interface SyncScoringRequest {
  model: string;
  query: string;
  documents: string[];
  options: ScoreOverrides;
  maxTokensPerDoc?: number;
  maxChunksPerDoc?: number;
  truncateLeft?: boolean;
  /** Cohere's priority (0 = highest); see syncPriority. */
  priority?: number;
}

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
    @Inject(CONFIG) private readonly config: RerankConfig,
    private readonly queues: QueueService,
    private readonly backpressure: BackpressureService,
  ) {}

  /** A part's texts leave Redis once it is answered (BullMQ would keep a completed job's data for removeOnComplete's age). */
  private async drop(job: Job<SyncJobData>): Promise<void> {
    await job.remove().catch((e: Error) => this.log.warn(`sync request ${job.id}: removing it from Redis: ${e.message} (it expires within 60 s)`));
  }

  async score(req: SyncScoringRequest): Promise<SyncScores> {
    const { config, queues } = this;
    // Redis down, nearly full, or too much queued: 503 with Retry-After before anything is written.
    await this.backpressure.admit(req.documents.length, req.documents.reduce((n, d) => n + d.length, req.query.length));
    const slices = sliceDocuments(req.query, req.documents, config.shard.maxPairs, config.shard.maxChars);
    const priority = syncPriority(req.priority ?? 0);
    const opts = { attempts: 1, removeOnComplete: { age: 60 }, removeOnFail: { age: 600 }, ...(priority !== undefined ? { priority } : {}) };
    const data = (s: [number, number]): SyncJobData => ({
      kind: 'sync',
      model: req.model,
      query: req.query,
      documents: req.documents.slice(s[0], s[1]),
      options: req.options,
      ...(req.maxTokensPerDoc !== undefined ? { maxTokensPerDoc: req.maxTokensPerDoc } : {}),
      ...(req.maxChunksPerDoc !== undefined ? { maxChunksPerDoc: req.maxChunksPerDoc } : {}),
      ...(req.truncateLeft ? { truncateLeft: true } : {}),
    });
    let jobs: Job<SyncJobData>[];
    try {
      jobs = (await queues.shards.addBulk(slices.map((s) => ({ name: 'sync', data: data(s), opts })))) as Job<SyncJobData>[];
    } catch (e) {
      if (!isRedisUnavailable(e)) throw e;
      throw new ApiError(503, 'queue_unavailable', `the request could not be queued (${(e as Error).message}); retry later`);
    }
    const deadline = Date.now() + config.syncTimeoutMs;
    const settled = await Promise.allSettled(jobs.map((j) => j.waitUntilFinished(queues.shardEvents, Math.max(1, deadline - Date.now())) as Promise<SyncReturn>));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      const states = await Promise.all(jobs.map((j) => j.getState().catch(() => 'unknown')));
      // Take back what no worker has started; a running part goes once it ends.
      await Promise.all(
        jobs.map((j, i) =>
          states[i] === 'active' ? void j.waitUntilFinished(queues.shardEvents, config.syncTimeoutMs).then(() => this.drop(j), () => this.drop(j)) : this.drop(j),
        ),
      );
      if (states.includes('failed')) throw new ApiError(500, 'scoring_failed', `scoring failed: ${(failed.reason as Error).message}`);
      throw new ApiError(
        504,
        'timeout',
        `no worker finished the request within ${config.syncTimeoutMs} ms (RERANK_SYNC_TIMEOUT_MS): ${req.documents.length} documents in ${jobs.length} part(s); ` +
          'check GET /health/ready for live workers, or submit it as an asynchronous job: POST /v1/jobs with the same query and documents, then GET /v1/jobs/{id}/results',
        undefined,
        undefined,
        { jobs_url: '/v1/jobs' },
      );
    }
    await Promise.all(jobs.map((j) => this.drop(j)));
    const out: SyncScores = { scores: [], tokens: 0, pairs: 0 };
    for (const s of settled as PromiseFulfilledResult<SyncReturn>[]) {
      out.scores.push(...s.value.scores);
      out.tokens += s.value.tokens ?? 0;
      out.pairs += s.value.pairs ?? s.value.scores.length;
    }
    return out;
  }
}
