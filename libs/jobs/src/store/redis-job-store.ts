/**
 * The JobStore port on Redis, one adapter per concern (records, listing, shard progress, results,
 * webhook states, idempotency keys, the connection), joined into one object for the composition
 * roots. Key names: keys.ts; the job hash's fields: job-hash.ts; status transitions: Lua (./lua).
 */
import type { Redis } from 'ioredis';
import { waitUntilWritable } from '../infra-retry';
import type { DocumentStore } from '../ports/document-store';
import type { JobStore, StoreConnection } from '../ports/job-store';
import { waitForRedis } from '../redis';
import { JobHash } from './job-hash';
import { keys } from './keys';
import { RedisIdempotencyKeys } from './redis-idempotency-keys';
import { RedisJobListing } from './redis-job-listing';
import { RedisJobRecords } from './redis-job-records';
import { RedisJobResults } from './redis-job-results';
import { RedisShardProgress } from './redis-shard-progress';
import { RedisWebhookStates } from './redis-webhook-states';

export class RedisConnection implements StoreConnection {
  constructor(private readonly redis: Redis) {}

  waitForConnection(timeoutMs: number): Promise<void> {
    return waitForRedis(this.redis, timeoutMs);
  }

  connected(): boolean {
    return this.redis.status === 'ready';
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  /** A probe key of `who`, expiring, written until Redis takes it. */
  waitUntilWritable(who: string): Promise<void> {
    return waitUntilWritable(this.redis, keys.probe(who));
  }
}

export interface RedisJobStoreOptions {
  /** Where the texts are (shard starts read them): a RedisDocumentStore on the same client reads them in the start script. */
  documents: DocumentStore;
  /** RERANK_SECRET_KEY: webhook secrets are stored encrypted under it. */
  secretKey?: string;
  /** RERANK_JOB_LIST_MAX: newest jobs per tenant in the listing index. */
  tenantIndexMax?: number;
}

/** The job store on one Redis client. */
export function redisJobStore(redis: Redis, options: RedisJobStoreOptions): JobStore {
  const hash = new JobHash(options.secretKey);
  return joinRoles(
    new RedisConnection(redis),
    new RedisJobRecords(redis, hash, options.tenantIndexMax),
    new RedisJobListing(redis, hash),
    new RedisShardProgress(redis, options.documents),
    new RedisJobResults(redis),
    new RedisWebhookStates(redis),
    new RedisIdempotencyKeys(redis),
  );
}

type Intersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** One object with the public methods of each part (private ones are `#`), bound to it; the parts implement disjoint roles (a name twice is a bug). */
function joinRoles<T extends object[]>(...parts: T): Intersection<T[number]> {
  const joined: Record<string, unknown> = {};
  for (const part of parts) {
    for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(part))) {
      const method = (part as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof method !== 'function') continue;
      if (name in joined) throw new Error(`two store adapters define ${name}`);
      joined[name] = (method as (...a: unknown[]) => unknown).bind(part);
    }
  }
  return joined as Intersection<T[number]>;
}
