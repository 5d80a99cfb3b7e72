/**
 * Per-key rate limits and quotas, shared by every API replica through Redis: requests per minute,
 * (query, document) pairs per minute, and jobs queued or running at once. Keys live under
 * `rerank-limits:` (outside the job key space; store/keys.ts). A limit of 0 is off.
 */
import type { ServerResponse } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError, hasEnded, keys, readJobStatuses, type LimitInfo, overLimit, type RerankConfig, runScript, SCRIPTS } from '@rerank/jobs';
import { CONFIG, REDIS } from './tokens';

/** Retry-After of a refusal for too many active jobs: when one ends is unknown, so a short poll. */
export const ACTIVE_JOBS_RETRY_SECONDS = 5;

@Injectable()
export class RateLimitService {
  private readonly log = new Logger('rate-limit');
  private readonly requests: RateLimiterRedis | null;
  private readonly pairs: RateLimiterRedis | null;
  private readonly limits: RerankConfig['rateLimits'];

  constructor(
    @Inject(CONFIG) config: Pick<RerankConfig, 'rateLimits'>,
    @Inject(REDIS) private readonly redis: Redis,
  ) {
    this.limits = config.rateLimits;
    const limiter = (name: string, points: number) =>
      points > 0
        ? new RateLimiterRedis({ storeClient: redis, keyPrefix: keys.rateLimit(name), points, duration: 60, rejectIfRedisNotReady: true })
        : null;
    this.requests = limiter('requests', this.limits.requestsPerMinute);
    this.pairs = limiter('pairs', this.limits.pairsPerMinute);
  }

  /** One request of `owner`: RateLimit-* headers on `res`, or 429 with Retry-After. */
  async request(owner: string, res: ServerResponse): Promise<void> {
    if (!this.requests) return;
    const limit: LimitInfo = {
      name: 'requests per minute per API key',
      value: this.limits.requestsPerMinute,
      env: 'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE',
    };
    await this.consume(
      this.requests,
      owner,
      1,
      res,
      limit,
      `too many requests: at most ${limit.value} per minute for this API key (RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE)`,
    );
  }

  /** `count` (query, document) pairs of `owner` about to be scored; 429 beyond the per-minute budget. */
  async consumePairs(owner: string, count: number, res: ServerResponse, field: string): Promise<void> {
    if (!this.pairs || count === 0) return;
    const limit: LimitInfo = {
      name: '(query, document) pairs per minute per API key',
      value: this.limits.pairsPerMinute,
      env: 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE',
    };
    if (count > limit.value)
      throw overLimit(
        field,
        `${count} (query, document) pairs`,
        limit,
        'one request can never exceed the per-minute budget; split the work',
      );
    await this.consume(
      this.pairs,
      owner,
      count,
      res,
      limit,
      `too many pairs: this request has ${count} (query, document) pairs and the per-minute budget of ${limit.value} for this API key (RERANK_RATE_LIMIT_PAIRS_PER_MINUTE) has fewer left`,
    );
  }

  /** Counts job `id` as active for `owner`; 429 when the owner already has the most allowed. */
  async claimActiveJob(owner: string, id: string, res: ServerResponse): Promise<void> {
    const max = this.limits.activeJobs;
    if (max === 0) return;
    // Statuses read one key at a time (cluster-safe), then Lua (claim-active-job.lua) drops the ended and adds unless full; -1 when added.
    const members = await this.redis.zrange(keys.activeJobs(owner), 0, -1);
    const statuses = await readJobStatuses(this.redis, members);
    const ended = members.filter((_, i) => hasEnded(statuses[i]));
    const n = Number(await runScript(this.redis, SCRIPTS.claimActiveJob, [keys.activeJobs(owner)], [max, id, Date.now(), ...ended]));
    if (n >= 0) {
      setHeaders(res, { 'Retry-After': String(ACTIVE_JOBS_RETRY_SECONDS) });
      throw new ApiError(
        429,
        'rate_limited',
        `too many active jobs: this API key has ${n} jobs queued or running, at most ${max} (RERANK_RATE_LIMIT_ACTIVE_JOBS); wait for one to finish or cancel one`,
        undefined,
        { name: 'active jobs per API key', value: max, env: 'RERANK_RATE_LIMIT_ACTIVE_JOBS' },
        { retry_after_seconds: ACTIVE_JOBS_RETRY_SECONDS },
      );
    }
  }

  /** A claimed job that was not queued after all. */
  async releaseActiveJob(owner: string, id: string): Promise<void> {
    if (this.limits.activeJobs === 0) return;
    await this.redis.zrem(keys.activeJobs(owner), id);
  }

  private async consume(
    limiter: RateLimiterRedis,
    owner: string,
    points: number,
    res: ServerResponse,
    limit: LimitInfo,
    message: string,
  ): Promise<void> {
    let state: RateLimiterRes;
    try {
      state = await limiter.consume(owner, points);
    } catch (e) {
      if (!(e instanceof RateLimiterRes)) {
        // Redis unreachable: the request itself reports that (503); a limiter outage must not add its own.
        this.log.warn(`${limit.env} not enforced for this request: ${(e as Error)?.message ?? String(e)}`);
        return;
      }
      const retry = Math.max(1, Math.ceil(e.msBeforeNext / 1000));
      // The error filter writes the body; the headers set here stay on the response.
      setHeaders(res, { 'Retry-After': String(retry), ...rateLimitHeaders(limit.value, 0, e.msBeforeNext) });
      throw new ApiError(429, 'rate_limited', `${message}; retry in ${retry} s`, undefined, limit, { retry_after_seconds: retry });
    }
    if (limiter === this.requests) setHeaders(res, rateLimitHeaders(limit.value, state.remainingPoints, state.msBeforeNext));
  }
}

function setHeaders(res: ServerResponse, headers: Record<string, string>): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
}

/** `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window resets). */
export function rateLimitHeaders(limit: number, remaining: number, msBeforeReset: number): Record<string, string> {
  return {
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(Math.max(0, remaining)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(msBeforeReset / 1000))),
  };
}
