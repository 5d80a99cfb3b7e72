/**
 * What the tests read of jobs in Redis beyond the JobStore port: every job id, shard runs, whether
 * the texts are there, a secret as stored, TTLs, a tenant's active jobs. Tests may spell keys
 * (libs/jobs/src/store/keys.ts); the apps may not.
 */
import type { Redis } from 'ioredis';
import { type JobRecord, type JobStatus, RedisDocumentStore, redisJobStore, redisNodes } from '@rerank/jobs';
import { JOB_FIELDS } from '../../libs/jobs/src/store/job-hash';
import { JOB_PREFIX, jobIdOfKey, keys } from '../../libs/jobs/src/store/keys';

export class JobInspector {
  constructor(private readonly redis: Redis) {}

  get(id: string): Promise<JobRecord | null> {
    return redisJobStore(this.redis, { documents: new RedisDocumentStore(this.redis) }).get(id);
  }

  async status(id: string): Promise<JobStatus | null> {
    return (await this.redis.hget(keys.job(id), JOB_FIELDS.status)) as JobStatus | null;
  }

  /** Ids of every job hash (a SCAN of every master). */
  async jobIds(): Promise<string[]> {
    const out: string[] = [];
    for (const node of redisNodes(this.redis)) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', `${JOB_PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        for (const k of found) {
          const id = jobIdOfKey(k);
          if (id !== null) out.push(id);
        }
      } while (cursor !== '0');
    }
    return out.sort();
  }

  /** Times each shard's scoring started. */
  async shardRuns(id: string): Promise<Record<string, number>> {
    const h = await this.redis.hgetall(keys.runs(id));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }

  /** Texts of flat document indices (null where gone). */
  documents(id: string, indices: readonly number[]): Promise<(string | null)[]> {
    return new RedisDocumentStore(this.redis).read(id, indices);
  }

  async hasDocuments(id: string): Promise<boolean> {
    return (await this.redis.exists(keys.docs(id))) === 1;
  }

  /** The webhook secret as stored (sealed when RERANK_SECRET_KEY is set). */
  storedWebhookSecret(id: string): Promise<string | null> {
    return this.redis.hget(keys.job(id), JOB_FIELDS.webhookSecret);
  }

  /** Seconds until the job hash expires (-1: no expiry, -2: gone). */
  ttl(id: string): Promise<number> {
    return this.redis.ttl(keys.job(id));
  }

  activeJobs(tenant: string): Promise<string[]> {
    return this.redis.zrange(keys.activeJobs(tenant), 0, -1);
  }
}
