/**
 * Backpressure: new work (a job, a synchronous request) is refused with 503 `overloaded` and
 * Retry-After before the store fills up, instead of being accepted and failing on a refused write
 * later. Two gauges of the QuotaStore: the store's memory against its limit
 * (RERANK_REDIS_MEMORY_CEILING), and the pairs of unfinished jobs (RERANK_MAX_QUEUED_PAIRS). Nothing
 * is stored for a refused request. Also answers 503 at once while the store's connection is down.
 */
import { Inject, Injectable } from '@nestjs/common';
import {
  ApiError,
  infraErrorReason,
  isRedisInfraError,
  type QuotaStore,
  type RerankConfig,
  retryLater,
  type StoreConnection,
  type StoreMemory,
} from '@rerank/jobs';
import { CONFIG, JOB_STORE, QUOTA_STORE } from './tokens';

/** How long the gauges are reused (one memory reading and one sum per second at most, per API process). */
const GAUGE_TTL_MS = 1000;
export const OVERLOADED_RETRY_AFTER_S = 5;
export const UNAVAILABLE_RETRY_AFTER_S = 2;

/**
 * A store error that is not the request's fault, as the API answers it at every entry point: Redis
 * unreachable, or there and refusing the command for now (OOM under maxmemory, MISCONF after a failed
 * snapshot on a full disk, READONLY during a failover, ...; isRedisInfraError is the one classifier) is
 * 503 with Retry-After; null for any other error (a bug: 500).
 */
export function storeRefusal(e: unknown, code: 'unavailable' | 'queue_unavailable'): ApiError | null {
  if (e instanceof ApiError || !isRedisInfraError(e)) return null;
  return retryLater(
    503,
    code,
    `the job store (Redis) cannot take work now (${infraErrorReason(e as Error)}); nothing was stored, retry later`,
    UNAVAILABLE_RETRY_AFTER_S,
  );
}

@Injectable()
export class BackpressureService {
  private memory: { at: number; value: StoreMemory } | null = null;
  private pending: { at: number; pairs: number } | null = null;

  constructor(
    @Inject(CONFIG) private readonly config: RerankConfig,
    @Inject(QUOTA_STORE) private readonly quotas: Pick<QuotaStore, 'memory' | 'pendingPairs' | 'trackPendingPairs'>,
    @Inject(JOB_STORE) private readonly store: Pick<StoreConnection, 'connected'>,
  ) {}

  /** Throws 503 (unavailable or overloaded, with Retry-After) unless new work of this size may be stored. */
  async admit(pairs: number, bytes: number): Promise<void> {
    this.requireConnection();
    try {
      await this.check(pairs, bytes);
    } catch (e) {
      throw storeRefusal(e, 'unavailable') ?? e;
    }
  }

  private async check(pairs: number, bytes: number): Promise<void> {
    const { redisMemoryCeiling, maxQueuedPairs } = this.config.backpressure;
    const mem = await this.storeMemory();
    if (mem.max > 0 && mem.used + bytes > redisMemoryCeiling * mem.max) {
      throw retryLater(
        503,
        'overloaded',
        `Redis memory is nearly full (${mem.used} of ${mem.max} bytes used, this request adds about ${bytes}; the ceiling is ${redisMemoryCeiling} of maxmemory, RERANK_REDIS_MEMORY_CEILING); nothing was stored, retry later`,
        OVERLOADED_RETRY_AFTER_S,
        { extra: { reason: 'redis_memory' } },
      );
    }
    if (maxQueuedPairs > 0) {
      const queued = await this.queuedPairs();
      if (queued + pairs > maxQueuedPairs) {
        throw retryLater(
          503,
          'overloaded',
          `too much work queued: ${queued} pairs of unfinished jobs plus this request's ${pairs} would pass ${maxQueuedPairs} (RERANK_MAX_QUEUED_PAIRS); nothing was stored, retry later`,
          OVERLOADED_RETRY_AFTER_S,
          { extra: { reason: 'queued_pairs' } },
        );
      }
    }
  }

  /** 503 at once while the connection is down (commands would wait for reconnects or time out). */
  requireConnection(): void {
    if (!this.store.connected()) {
      throw retryLater(
        503,
        'unavailable',
        'the job store (Redis) is unreachable (no connection); nothing was done, retry later',
        UNAVAILABLE_RETRY_AFTER_S,
      );
    }
  }

  /** Counts an accepted job in the queued pairs (until it ends). */
  async track(jobId: string, pairs: number): Promise<void> {
    await this.quotas.trackPendingPairs(jobId, pairs);
    // The cached sum would miss it for up to a second: a burst of jobs must not slip past the ceiling.
    if (this.pending) this.pending.pairs += pairs;
  }

  private async storeMemory(): Promise<StoreMemory> {
    if (this.memory && Date.now() - this.memory.at < GAUGE_TTL_MS) return this.memory.value;
    const value = await this.quotas.memory();
    this.memory = { at: Date.now(), value };
    return value;
  }

  private async queuedPairs(): Promise<number> {
    if (this.pending && Date.now() - this.pending.at < GAUGE_TTL_MS) return this.pending.pairs;
    const pairs = await this.quotas.pendingPairs();
    this.pending = { at: Date.now(), pairs };
    return pairs;
  }
}
