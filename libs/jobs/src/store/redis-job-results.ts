/** JobResultStore on Redis: the top-k per query as one JSON string, every score per query in a hash. */
import type { Redis } from 'ioredis';
import type { PairScore } from '../merge';
import type { JobResultStore } from '../ports/job-store';
import { exec, json, REDIS_CHUNK } from './job-hash';
import { jobKeys, keys } from './keys';

export class RedisJobResults implements JobResultStore {
  constructor(private readonly redis: Redis) {}

  /** One MULTI: the results, and every key of the job expiring after `ttlSeconds`. */
  async storeResults(id: string, top: unknown, scores: readonly PairScore[][], ttlSeconds: number): Promise<void> {
    const p = this.redis.multi();
    p.set(keys.result(id), JSON.stringify(top));
    for (let start = 0; start < scores.length; start += REDIS_CHUNK) {
      const args: string[] = [];
      for (let q = start; q < Math.min(scores.length, start + REDIS_CHUNK); q++) args.push(String(q), JSON.stringify(scores[q]));
      p.hset(keys.scores(id), ...args);
    }
    for (const k of jobKeys(id)) p.expire(k, ttlSeconds);
    await exec(p);
  }

  async result(id: string): Promise<unknown> {
    return json(await this.redis.get(keys.result(id)), null);
  }

  async queryScores(id: string, queryIndex: number): Promise<PairScore[] | null> {
    return json(await this.redis.hget(keys.scores(id), String(queryIndex)), null);
  }
}
