/**
 * QuotaStore on Redis, shared by every API replica: per-minute budgets through rate-limiter-flexible
 * (`rerank-limits:<budget>:...`), each tenant's active jobs (a sorted set, claim-active-job-1.lua),
 * the pairs of unfinished jobs (`rerank:pending-pairs`), and INFO memory of every master.
 */
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { QuotaStore, RateBudget, RateWindow, StoreMemory } from '../ports/quota-store';
import { redisNodes } from '../redis';
import { JOB_FIELDS } from './job-hash';
import { keys } from './keys';
import { runScript } from './scripts';

/** An active-jobs set outlives its last claim by this long (30 days). */
const ACTIVE_SET_TTL_MS = 2592000000;

export interface RateBudgets {
  /** Per minute per tenant; 0: no budget (every take is allowed). */
  requestsPerMinute: number;
  pairsPerMinute: number;
}

export function parseInfoMemory(info: string): StoreMemory {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { used: field('used_memory'), max: field('maxmemory') };
}

/** used/max of a node (0 without maxmemory). */
const fullness = (m: StoreMemory) => (m.max > 0 ? m.used / m.max : 0);

/** True for the status of a job that ended or is gone (it no longer counts as active or pending). */
const hasEnded = (status: string | null) => status === null || status === 'completed' || status === 'failed' || status === 'cancelled';

export class RedisQuotaStore implements QuotaStore {
  private readonly limiters: Record<RateBudget, RateLimiterRedis | null>;

  constructor(
    private readonly redis: Redis,
    budgets: RateBudgets,
  ) {
    const limiter = (name: RateBudget, points: number) =>
      points > 0
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix: keys.rateLimit(name), points, duration: 60, rejectIfRedisNotReady: true })
        : null;
    this.limiters = { requests: limiter('requests', budgets.requestsPerMinute), pairs: limiter('pairs', budgets.pairsPerMinute) };
  }

  async take(budget: RateBudget, tenant: string, points: number): Promise<RateWindow> {
    const limiter = this.limiters[budget];
    if (!limiter) return { allowed: true, remaining: Infinity, msBeforeReset: 0 };
    try {
      const r = await limiter.consume(tenant, points);
      return { allowed: true, remaining: r.remainingPoints, msBeforeReset: r.msBeforeNext };
    } catch (e) {
      // rate-limiter-flexible rejects with its state when the budget is spent, with an Error when Redis fails.
      if (e instanceof RateLimiterRes) return { allowed: false, remaining: e.remainingPoints, msBeforeReset: e.msBeforeNext };
      throw e;
    }
  }

  /** Statuses read one key at a time (cluster-safe), then Lua drops the ended members and adds unless full. */
  async claimActiveJob(tenant: string, jobId: string, max: number): Promise<number | null> {
    const members = await this.redis.zrange(keys.activeJobs(tenant), 0, -1);
    const statuses = await this.statuses(members);
    const ended = members.filter((_, i) => hasEnded(statuses[i]));
    const n = Number(
      await runScript(this.redis, 'claim-active-job', [keys.activeJobs(tenant)], [max, jobId, Date.now(), ACTIVE_SET_TTL_MS, ...ended]),
    );
    return n < 0 ? null : n;
  }

  async releaseActiveJob(tenant: string, jobId: string): Promise<void> {
    await this.redis.zrem(keys.activeJobs(tenant), jobId);
  }

  async trackPendingPairs(jobId: string, pairs: number): Promise<void> {
    await this.redis.hset(keys.pendingPairs, jobId, pairs);
  }

  /** Sums unfinished jobs' pairs and drops the entries of jobs that ended or are gone. */
  async pendingPairs(): Promise<number> {
    const entries = await this.redis.hgetall(keys.pendingPairs);
    const ids = Object.keys(entries);
    const statuses = await this.statuses(ids);
    const ended = ids.filter((_, i) => hasEnded(statuses[i]));
    if (ended.length > 0) await this.redis.hdel(keys.pendingPairs, ...ended);
    return ids.reduce((sum, id, i) => (hasEnded(statuses[i]) ? sum : sum + Number(entries[id])), 0);
  }

  /** A Redis Cluster: every master's memory; the fullest one decides. */
  async memory(): Promise<StoreMemory> {
    const infos = await Promise.all(redisNodes(this.redis).map((node) => node.info('memory')));
    return infos.map(parseInfoMemory).reduce((a, b) => (fullness(b) > fullness(a) ? b : a));
  }

  /**
   * The status of each job (null: gone), one HGET per job sent together: in a Redis Cluster the job
   * hashes live in different slots, where one script or pipeline over them all would fail CROSSSLOT.
   */
  private statuses(ids: readonly string[]): Promise<(string | null)[]> {
    return Promise.all(ids.map((id) => this.redis.hget(keys.job(id), JOB_FIELDS.status)));
  }
}
