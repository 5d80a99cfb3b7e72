/**
 * Per-key rate limits and quotas, shared by every API replica through the QuotaStore: requests per
 * minute, (query, document) pairs per minute, and jobs queued or running at once. A limit of 0 is
 * off. Refusals are 429 ApiErrors carrying Retry-After and RateLimit-*; an allowed request's
 * RateLimit-* headers are returned for the guard to write.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { type LimitInfo, overLimit, type QuotaStore, type RateBudget, type RateWindow, type RerankConfig, retryLater } from '@rerank/jobs';
import { CONFIG, QUOTA_STORE } from './tokens';

/** Retry-After of a refusal for too many active jobs: when one ends is unknown, so a short poll. */
export const ACTIVE_JOBS_RETRY_SECONDS = 5;

const REQUESTS: Omit<LimitInfo, 'value'> = { name: 'requests per minute per API key', env: 'RERANK_RATE_LIMIT_REQUESTS_PER_MINUTE' };
const PAIRS: Omit<LimitInfo, 'value'> = {
  name: '(query, document) pairs per minute per API key',
  env: 'RERANK_RATE_LIMIT_PAIRS_PER_MINUTE',
};

@Injectable()
export class RateLimitService {
  private readonly log = new Logger('rate-limit');
  private readonly limits: RerankConfig['rateLimits'];

  constructor(
    @Inject(CONFIG) config: RerankConfig,
    @Inject(QUOTA_STORE) private readonly quotas: Pick<QuotaStore, 'take' | 'claimActiveJob' | 'releaseActiveJob'>,
  ) {
    this.limits = config.rateLimits;
  }

  /** One request of `tenant`: its RateLimit-* headers, or 429 with Retry-After. */
  async request(tenant: string): Promise<Record<string, string>> {
    const limit: LimitInfo = { ...REQUESTS, value: this.limits.requestsPerMinute };
    if (limit.value === 0) return {};
    const window = await this.take(
      'requests',
      tenant,
      1,
      limit,
      `too many requests: at most ${limit.value} per minute for this API key (${limit.env})`,
    );
    return window ? rateLimitHeaders(limit.value, window.remaining, window.msBeforeReset) : {};
  }

  /** `count` (query, document) pairs of `tenant` about to be scored (`field` holds them); 429 beyond the per-minute budget. */
  async consumePairs(tenant: string, count: number, field: string): Promise<void> {
    const limit: LimitInfo = { ...PAIRS, value: this.limits.pairsPerMinute };
    if (limit.value === 0 || count === 0) return;
    if (count > limit.value)
      throw overLimit(
        field,
        `${count} (query, document) pairs`,
        limit,
        'one request can never exceed the per-minute budget; split the work',
      );
    await this.take(
      'pairs',
      tenant,
      count,
      limit,
      `too many pairs: this request has ${count} (query, document) pairs and the per-minute budget of ${limit.value} for this API key (${limit.env}) has fewer left`,
    );
  }

  /** Counts job `id` as active for `tenant`; 429 when the tenant already has the most allowed. */
  async claimActiveJob(tenant: string, id: string): Promise<void> {
    const max = this.limits.activeJobs;
    if (max === 0) return;
    const active = await this.quotas.claimActiveJob(tenant, id, max);
    if (active !== null)
      throw retryLater(
        429,
        'rate_limited',
        `too many active jobs: this API key has ${active} jobs queued or running, at most ${max} (RERANK_RATE_LIMIT_ACTIVE_JOBS); wait for one to finish or cancel one`,
        ACTIVE_JOBS_RETRY_SECONDS,
        { limit: { name: 'active jobs per API key', value: max, env: 'RERANK_RATE_LIMIT_ACTIVE_JOBS' } },
      );
  }

  /** A claimed job that was not queued after all. */
  async releaseActiveJob(tenant: string, id: string): Promise<void> {
    if (this.limits.activeJobs === 0) return;
    await this.quotas.releaseActiveJob(tenant, id);
  }

  /** The budget after the take, null when the store could not be asked (the request itself then reports the outage); 429 when spent. */
  private async take(budget: RateBudget, tenant: string, points: number, limit: LimitInfo, message: string): Promise<RateWindow | null> {
    let window: RateWindow;
    try {
      window = await this.quotas.take(budget, tenant, points);
    } catch (e) {
      this.log.warn(`${limit.env} not enforced for this request: ${(e as Error)?.message ?? String(e)}`);
      return null;
    }
    if (window.allowed) return window;
    const retry = Math.max(1, Math.ceil(window.msBeforeReset / 1000));
    throw retryLater(429, 'rate_limited', `${message}; retry in ${retry} s`, retry, {
      limit,
      headers: rateLimitHeaders(limit.value, 0, window.msBeforeReset),
    });
  }
}

/** `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (seconds until the window resets). */
export function rateLimitHeaders(limit: number, remaining: number, msBeforeReset: number): Record<string, string> {
  return {
    'RateLimit-Limit': String(limit),
    'RateLimit-Remaining': String(Math.max(0, remaining)),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(msBeforeReset / 1000))),
  };
}
