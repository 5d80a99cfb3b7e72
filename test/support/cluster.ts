/**
 * The job system as separate processes on one real Redis (@rerank/harness's Cluster), with what the
 * tests add: an API client, short locks and stalled intervals so a killed worker's shard comes back
 * in seconds, and the Redis footprint of jobs.
 */
import { Cluster as HarnessCluster, type ClusterOptions as HarnessClusterOptions } from '@rerank/harness';
import { ApiClient } from './http';

export interface ClusterOptions extends Omit<HarnessClusterOptions, 'redis'> {
  /** 'default': the configured lock and stalled-check defaults instead of FAST_RECOVERY_ENV. */
  recovery?: 'fast' | 'default';
  /** Every Redis write fsynced to an append-only file (so a SIGKILLed Redis loses nothing). */
  persistentRedis?: boolean;
  /** Redis's working directory (kept by stop()); default: a temporary one, removed by stop(). */
  redisDir?: string;
}

export const FAST_RECOVERY_ENV = {
  RERANK_LOCK_DURATION_MS: '3000',
  RERANK_STALLED_INTERVAL_MS: '1000',
};

export class Cluster extends HarnessCluster {
  private api_client: ApiClient | undefined;

  constructor(options: ClusterOptions) {
    super({
      ...options,
      env: { ...(options.recovery === 'default' ? {} : FAST_RECOVERY_ENV), ...options.env },
      redis: { persistence: options.persistentRedis ? 'aof-always' : 'none', dir: options.redisDir },
      workerReadyTimeoutMs: options.workerReadyTimeoutMs ?? 60000,
    });
  }

  /** A client of the API (no key). */
  get client(): ApiClient {
    return (this.api_client ??= new ApiClient(this.base));
  }

  /**
   * Redis keys of jobs and idempotency records, and BullMQ job counts (what "nothing stored" checks).
   * Left out: heartbeats and BullMQ's bookkeeping of a queue, which its workers write on their own
   * schedule (`:stalled` is the stalled checker's set of the active jobs it saw, for any earlier job).
   */
  async footprint(): Promise<{ keys: string[]; counts: Record<string, number> }> {
    const keys = (await this.redis.client.keys('rerank:*'))
      .filter((k) => !/stalled-check|:stalled$|^rerank:worker|:events$|:meta$|:id$|:marker$/.test(k))
      .sort();
    // Every model's shard queue (placement: shards.<model>).
    const shardQueues = [
      ...new Set(keys.map((k) => /^rerank:q:(shards\.[^:]+):/.exec(k)?.[1]).filter((q): q is string => q !== undefined)),
    ];
    let shards = 0;
    let wait = 0;
    for (const q of shardQueues) {
      shards += await this.redis.client.zcard(`rerank:q:${q}:prioritized`);
      wait += await this.redis.client.llen(`rerank:q:${q}:wait`);
    }
    return { keys, counts: { shards, wait } };
  }
}
