/** IdempotencyKeys on Redis: `rerank:idem:<tenant>:<key hash>` -> {job, body}, SET NX with the results' TTL. */
import type { Redis } from 'ioredis';
import type { IdempotencyKeys } from '../ports/job-store';
import { json } from './job-hash';
import { keys } from './keys';

export class RedisIdempotencyKeys implements IdempotencyKeys {
  constructor(private readonly redis: Redis) {}

  async claimIdempotencyKey(
    tenant: string,
    keyHash: string,
    jobId: string,
    bodyHash: string,
    ttlSeconds: number,
  ): Promise<{ job: string; body: string } | null> {
    const key = keys.idempotency(tenant, keyHash);
    const ok = await this.redis.set(key, JSON.stringify({ job: jobId, body: bodyHash }), 'EX', ttlSeconds, 'NX');
    if (ok === 'OK') return null;
    return json(await this.redis.get(key), null);
  }

  async releaseIdempotencyKey(tenant: string, keyHash: string): Promise<void> {
    await this.redis.del(keys.idempotency(tenant, keyHash));
  }
}
