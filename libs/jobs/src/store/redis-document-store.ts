/**
 * DocumentStore on Redis (the default): a job's texts in one hash, flat index -> text
 * (`rerank:job:<id>:docs`, in the job's hash slot, so a shard's start reads them in the same script
 * that checks the job: redis-shard-progress.ts).
 */
import type { Redis } from 'ioredis';
import type { DocumentStore } from '../ports/document-store';
import { exec, PENDING_TTL_SECONDS, REDIS_CHUNK } from './job-hash';
import { keys } from './keys';

export class RedisDocumentStore implements DocumentStore {
  constructor(readonly redis: Redis) {}

  /** One round trip: HSETs of REDIS_CHUNK fields (one spread of 2 × N arguments overflows the stack near 60,000 texts). */
  async write(jobId: string, texts: readonly string[]): Promise<void> {
    const p = this.redis.multi();
    for (let start = 0; start < texts.length; start += REDIS_CHUNK) {
      const end = Math.min(texts.length, start + REDIS_CHUNK);
      const args = new Array<string | number>((end - start) * 2);
      for (let i = start; i < end; i++) {
        args[2 * (i - start)] = i;
        args[2 * (i - start) + 1] = texts[i];
      }
      p.hset(keys.docs(jobId), ...args);
    }
    p.expire(keys.docs(jobId), PENDING_TTL_SECONDS);
    await exec(p);
  }

  async keep(jobId: string): Promise<void> {
    await this.redis.persist(keys.docs(jobId));
  }

  /** One round trip: HMGETs of REDIS_CHUNK fields, pipelined, for the same reason as `write`. */
  async read(jobId: string, indices: readonly number[]): Promise<(string | null)[]> {
    if (indices.length === 0) return [];
    if (indices.length <= REDIS_CHUNK) return this.redis.hmget(keys.docs(jobId), ...indices.map(String));
    const p = this.redis.pipeline();
    for (let start = 0; start < indices.length; start += REDIS_CHUNK)
      p.hmget(keys.docs(jobId), ...indices.slice(start, start + REDIS_CHUNK).map(String));
    const replies = (await exec(p)) as (string | null)[][];
    const out: (string | null)[] = [];
    for (const part of replies) for (const v of part) out.push(v);
    return out;
  }

  async has(jobId: string): Promise<boolean> {
    return (await this.redis.exists(keys.docs(jobId))) === 1;
  }

  async expire(jobId: string, ttlSeconds: number): Promise<void> {
    await this.redis.expire(keys.docs(jobId), ttlSeconds);
  }

  async remove(jobId: string): Promise<void> {
    await this.redis.del(keys.docs(jobId));
  }
}
