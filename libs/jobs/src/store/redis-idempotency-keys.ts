/** IdempotencyKeys on Redis: `rerank:idem:<tenant>:<key hash>` -> {job, body, lease?}, compared and set by one script. */
import type { Redis } from 'ioredis';
import type { IdempotencyClaim, IdempotencyKeys } from '../ports/job-store';
import { keys } from './keys';
import { runScript } from './scripts';

/** The stored form: fixed key order, so a claim compares equal to the string it was stored as. */
function encode(c: IdempotencyClaim): string {
  return JSON.stringify(c.leaseUntil === undefined ? { job: c.job, body: c.body } : { job: c.job, body: c.body, lease: c.leaseUntil });
}

function decode(v: string): IdempotencyClaim {
  const o = JSON.parse(v) as { job: string; body: string; lease?: number };
  return o.lease === undefined ? { job: o.job, body: o.body } : { job: o.job, body: o.body, leaseUntil: o.lease };
}

export class RedisIdempotencyKeys implements IdempotencyKeys {
  constructor(private readonly redis: Redis) {}

  /** {1} when set, else {0, what the key holds ('' when free)}. */
  private async swap(tenant: string, keyHash: string, expected: string, takeFree: boolean, next: string, ttl: number) {
    const r = (await runScript(
      this.redis,
      'idempotency-swap',
      [keys.idempotency(tenant, keyHash)],
      [expected, takeFree ? 1 : 0, next, ttl],
    )) as [1] | [0, string];
    return r[0] === 1 ? { ok: true as const } : { ok: false as const, held: r[1] === '' ? null : decode(r[1]) };
  }

  async claimIdempotencyKey(
    tenant: string,
    keyHash: string,
    claim: IdempotencyClaim,
    ttlSeconds: number,
    replacing?: IdempotencyClaim,
  ): Promise<IdempotencyClaim | null> {
    const r = await this.swap(tenant, keyHash, replacing ? encode(replacing) : '', true, encode(claim), ttlSeconds);
    return r.ok ? null : r.held;
  }

  async updateIdempotencyKey(
    tenant: string,
    keyHash: string,
    from: IdempotencyClaim,
    to: IdempotencyClaim,
    ttlSeconds: number,
  ): Promise<boolean> {
    return (await this.swap(tenant, keyHash, encode(from), false, encode(to), ttlSeconds)).ok;
  }

  async releaseIdempotencyKey(tenant: string, keyHash: string, claim: IdempotencyClaim): Promise<void> {
    await this.swap(tenant, keyHash, encode(claim), false, '', 1);
  }
}
