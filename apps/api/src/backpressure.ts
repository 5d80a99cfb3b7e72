/**
 * Backpressure: new work (a job, a synchronous request) is refused with 503 `overloaded` and
 * Retry-After before Redis fills up, instead of being accepted and failing on a refused write
 * later. Two gauges: Redis used_memory against its maxmemory (RERANK_REDIS_MEMORY_CEILING), and
 * the pairs of unfinished jobs (RERANK_MAX_QUEUED_PAIRS). Nothing is stored for a refused request.
 * Also answers 503 at once while the API's Redis connection is down (no waiting for reconnects).
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ApiError, hasEnded, isRedisInfraError, keys, readJobStatuses, redisNodes, type RerankConfig } from '@rerank/jobs';
import { CONFIG, REDIS } from './tokens';

/** job id -> pairs of every job accepted and not yet found finished. */
export const PENDING_PAIRS_KEY = keys.pendingPairs;
/** How long the gauges are reused (one INFO and one sum per second at most, per API process). */
const GAUGE_TTL_MS = 1000;
export const OVERLOADED_RETRY_AFTER_S = 5;
export const UNAVAILABLE_RETRY_AFTER_S = 2;

/** A 503 that carries Retry-After (written by sendError). */
export class RetryLaterError extends ApiError {
  readonly headers: Record<string, string>;
  constructor(code: string, message: string, retryAfterSeconds: number, extra: Record<string, unknown> = {}) {
    super(503, code, message, undefined, undefined, { retry_after_seconds: retryAfterSeconds, ...extra });
    this.headers = { 'retry-after': String(retryAfterSeconds) };
  }
}

/** Redis memory as INFO memory reports it (maxmemory 0: no limit). */
export interface RedisMemory {
  used: number;
  max: number;
}

/** used/max of a node (0 without maxmemory). */
const fullness = (m: RedisMemory) => (m.max > 0 ? m.used / m.max : 0);

export function parseInfoMemory(info: string): RedisMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), max: field('maxmemory') };
}

@Injectable()
export class BackpressureService {
  private memory: { at: number; value: RedisMemory } | null = null;
  private pending: { at: number; pairs: number } | null = null;

  constructor(
    @Inject(CONFIG) private readonly config: Pick<RerankConfig, 'backpressure'>,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  /** Throws 503 (unavailable or overloaded, with Retry-After) unless new work of this size may be stored. */
  async admit(pairs: number, bytes: number): Promise<void> {
    this.requireConnection();
    try {
      await this.check(pairs, bytes);
    } catch (e) {
      if (!(e instanceof ApiError) && isRedisInfraError(e)) {
        throw new RetryLaterError(
          'unavailable',
          `the job store (Redis) cannot take work now (${(e as Error).message}); nothing was stored, retry later`,
          UNAVAILABLE_RETRY_AFTER_S,
        );
      }
      throw e;
    }
  }

  private async check(pairs: number, bytes: number): Promise<void> {
    const { redisMemoryCeiling, maxQueuedPairs } = this.config.backpressure;
    const mem = await this.redisMemory();
    if (mem.max > 0 && mem.used + bytes > redisMemoryCeiling * mem.max) {
      throw new RetryLaterError(
        'overloaded',
        `Redis memory is nearly full (${mem.used} of ${mem.max} bytes used, this request adds about ${bytes}; the ceiling is ${redisMemoryCeiling} of maxmemory, RERANK_REDIS_MEMORY_CEILING); nothing was stored, retry later`,
        OVERLOADED_RETRY_AFTER_S,
        { reason: 'redis_memory' },
      );
    }
    if (maxQueuedPairs > 0) {
      const queued = await this.queuedPairs();
      if (queued + pairs > maxQueuedPairs) {
        throw new RetryLaterError(
          'overloaded',
          `too much work queued: ${queued} pairs of unfinished jobs plus this request's ${pairs} would pass ${maxQueuedPairs} (RERANK_MAX_QUEUED_PAIRS); nothing was stored, retry later`,
          OVERLOADED_RETRY_AFTER_S,
          { reason: 'queued_pairs' },
        );
      }
    }
  }

  /** 503 at once while the connection is down (commands would wait for reconnects or time out). */
  requireConnection(): void {
    if (this.redis.status !== 'ready') {
      throw new RetryLaterError(
        'unavailable',
        `the job store (Redis) is unreachable (connection ${this.redis.status}); nothing was done, retry later`,
        UNAVAILABLE_RETRY_AFTER_S,
      );
    }
  }

  /** Counts an accepted job in the queued pairs (until it ends). */
  async track(jobId: string, pairs: number): Promise<void> {
    await this.redis.hset(PENDING_PAIRS_KEY, jobId, pairs);
    // The cached sum would miss it for up to a second: a burst of jobs must not slip past the ceiling.
    if (this.pending) this.pending.pairs += pairs;
  }

  private async redisMemory(): Promise<RedisMemory> {
    if (this.memory && Date.now() - this.memory.at < GAUGE_TTL_MS) return this.memory.value;
    // A Redis Cluster: every master's memory; the fullest one decides (a job's keys land on one of them).
    const infos = await Promise.all(redisNodes(this.redis).map((node) => node.info('memory')));
    const value = infos.map(parseInfoMemory).reduce((a, b) => (fullness(b) > fullness(a) ? b : a));
    this.memory = { at: Date.now(), value };
    return value;
  }

  private async queuedPairs(): Promise<number> {
    if (this.pending && Date.now() - this.pending.at < GAUGE_TTL_MS) return this.pending.pairs;
    // Sums unfinished jobs' pairs and drops the entries of jobs that ended or are gone (statuses read
    // one key at a time: in a Redis Cluster the job hashes are in other slots than this hash).
    const entries = await this.redis.hgetall(PENDING_PAIRS_KEY);
    const ids = Object.keys(entries);
    const statuses = await readJobStatuses(this.redis, ids);
    const ended = ids.filter((_, i) => hasEnded(statuses[i]));
    if (ended.length > 0) await this.redis.hdel(PENDING_PAIRS_KEY, ...ended);
    const pairs = ids.reduce((sum, id, i) => (hasEnded(statuses[i]) ? sum : sum + Number(entries[id])), 0);
    this.pending = { at: Date.now(), pairs };
    return pairs;
  }
}
