/**
 * The quota store port: what the API admits new work against, shared by every API replica: each
 * tenant's budgets per minute (requests, pairs), its active jobs, the pairs of unfinished jobs, and
 * how full the store is. The Redis adapter is store/redis-quota-store.ts.
 */

/** A per-minute budget of every tenant. */
export type RateBudget = 'requests' | 'pairs';

/** A budget after a take: whether it was allowed, what is left, and when the window resets. */
export interface RateWindow {
  allowed: boolean;
  remaining: number;
  msBeforeReset: number;
}

/** The store's memory (max 0: no limit). */
export interface StoreMemory {
  used: number;
  max: number;
}

export interface QuotaStore {
  /** Takes `points` from `tenant`'s budget; a refused take counts too (the window stays spent until it resets). Throws when the store is unreachable. */
  take(budget: RateBudget, tenant: string, points: number): Promise<RateWindow>;
  /**
   * Counts job `jobId` among `tenant`'s active jobs unless it already has `max` (ended jobs no longer
   * count): null when counted, else how many it has.
   */
  claimActiveJob(tenant: string, jobId: string, max: number): Promise<number | null>;
  releaseActiveJob(tenant: string, jobId: string): Promise<void>;
  /** Counts an accepted job's pairs as pending until it ends. */
  trackPendingPairs(jobId: string, pairs: number): Promise<void>;
  /** Pairs of the jobs accepted and not yet ended. */
  pendingPairs(): Promise<number>;
  /** The fullest node's memory (a job's keys may land on any). */
  memory(): Promise<StoreMemory>;
}
