/**
 * Scoring for synchronous requests: the API holds no model, so the documents go to the shard queue
 * as sync jobs carrying their texts, ahead of asynchronous shards, and the API waits for them. A large
 * request (up to RERANK_SYNC_MAX_DOCUMENTS) is cut like a job's shards so several workers share it.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  ApiError,
  type CancelSignals,
  type PairScore,
  type RerankConfig,
  type ScoringQueue,
  type SyncJobData,
  type SyncOutcome,
} from '@rerank/jobs';
import { BackpressureService, storeRefusal } from './backpressure';
import { ModelsService } from './models.service';
import { currentRequestSignal } from './observability';
import { CANCEL_SIGNALS, CONFIG, SCORING_QUEUE } from './tokens';

/** How long a cancelled request waits for its parts a worker holds to stop (at their next batch) before removing them. */
const CANCELLED_PART_WAIT_MS = 30000;

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
    @Inject(CANCEL_SIGNALS) private readonly cancels: Pick<CancelSignals, 'publish'>,
  ) {}

  /** A part's texts leave Redis once it is answered (BullMQ would keep a completed job's data for removeOnComplete's age). */
  private async drop(id: string): Promise<void> {
    await this.queue
      .removeSync(id)
      .catch((e: Error) => this.log.warn(`sync request ${id}: removing it from Redis: ${e.message} (it expires within 60 s)`));
  }

  /**
   * Stops a request's parts (its client went away, or it timed out): workers drop their pairs not yet
   * on a device at the next batch; parts nobody took leave Redis now, those held by a worker once it let
   * them go (after its batch in flight).
   */
  private async cancelParts(token: string, ids: readonly string[]): Promise<void> {
    await this.cancels
      .publish({ kind: 'sync', id: token })
      .catch((e: Error) => this.log.warn(`sync request: telling the workers: ${e.message}`));
    await Promise.all(
      ids.map(async (id) => {
        try {
          await this.queue.removeSync(id);
        } catch {
          // Held by a worker: it returns at its next batch.
          await this.queue.waitForSync(id, CANCELLED_PART_WAIT_MS).catch(() => undefined);
          await this.drop(id);
        }
      }),
    );
  }

  /** `signal`: the request's (aborted when its client went away). */
  async score(req: SyncScoringRequest, signal: AbortSignal | undefined = currentRequestSignal()): Promise<SyncScores> {
    const { config, queue } = this;
    // Redis down, nearly full, or too much queued: 503 with Retry-After before anything is written.
    await this.backpressure.admit(
      req.documents.length,
      req.documents.reduce((n, d) => n + d.length, req.query.length),
    );
    // Then a model no live worker serves (placement): 503 with Retry-After, nothing queued.
    await this.models.requireServed(req.model, 'sync');
    const token = randomUUID();
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
      cancel: token,
    });
    let ids: string[];
    try {
      ids = await Promise.all(slices.map((s) => queue.addSyncShard(data(s))));
    } catch (e) {
      throw storeRefusal(e, 'queue_unavailable') ?? e;
    }
    const deadline = Date.now() + config.api.syncTimeoutMs;
    const waiting = Promise.all(ids.map((id) => queue.waitForSync(id, Math.max(1, deadline - Date.now()))));
    const outcomes = await this.unlessGone(waiting, signal);
    if (outcomes === 'gone') {
      void this.cancelParts(token, ids);
      throw new ApiError(499, 'client_closed_request', 'the client closed the connection before the answer; its scoring was cancelled');
    }
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
      }
    }
    await Promise.all(drops);
    // Not done in time: the parts still queued or scored are cancelled (the answer does not wait for that).
    const lateIds = ids.filter((_, i) => outcomes[i].state === 'timeout');
    if (lateIds.length > 0) void this.cancelParts(token, lateIds);
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

  /** The outcomes, or 'gone' as soon as the request's client went away. */
  private async unlessGone(waiting: Promise<SyncOutcome[]>, signal: AbortSignal | undefined): Promise<SyncOutcome[] | 'gone'> {
    if (!signal) return waiting;
    if (signal.aborted) return 'gone';
    let onAbort: (() => void) | undefined;
    const gone = new Promise<'gone'>((resolve) => {
      onAbort = () => resolve('gone');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([waiting, gone]);
    } finally {
      signal.removeEventListener('abort', onAbort as () => void);
    }
  }
}
