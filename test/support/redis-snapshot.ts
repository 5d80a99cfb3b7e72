/**
 * What "nothing stored" compares: every key in Redis (SCAN, not only rerank:*) with its type, a cheap
 * size, whether it expires and a digest of its value (DUMP: a changed status field in a job hash shows
 * even when the hash keeps its length), plus BullMQ's job counts of every queue.
 *
 * Left out, because they change on their own in an idle stack and say nothing about a request:
 *   - rerank:workers, rerank:worker:<id>: worker heartbeats (rewritten every few seconds);
 *   - rerank:q:<queue>:stalled-check: set with a short expiry by each BullMQ worker's stalled-job check
 *     (every RERANK_STALLED_INTERVAL_MS), so it appears and disappears between two snapshots;
 *   - rerank:q:<queue>:meta: written by every Queue/Worker when it connects (a reconnect rewrites it).
 * Everything else stays in, BullMQ's job-id counter (`:id`) and event streams (`:events`) included: a
 * request that queued a job and removed it again would still move them.
 */
import { createHash } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { modelQueues, QUEUE_AGGREGATE, QUEUE_WEBHOOKS } from '@rerank/jobs';
import { BULL_PREFIX } from '../../libs/jobs/src/store/keys';

export const VOLATILE_KEY = /^rerank:workers$|^rerank:worker:|^rerank:q:[^:]+:(stalled-check|meta)$/;

export interface RedisSnapshot {
  /** key -> "type size [expires] digest" */
  keys: Record<string, string>;
  /** queue -> BullMQ job counts by state */
  queues: Record<string, Record<string, number>>;
}

const SIZE: Record<string, (r: Redis, k: string) => Promise<number>> = {
  string: (r, k) => r.strlen(k),
  hash: (r, k) => r.hlen(k),
  list: (r, k) => r.llen(k),
  set: (r, k) => r.scard(k),
  zset: (r, k) => r.zcard(k),
  stream: (r, k) => r.xlen(k),
};

export class RedisSnapshotter {
  private readonly queues: Queue[];

  /** `models`: the configured model names (each has its own shard and sync queues). */
  constructor(
    private readonly redis: Redis,
    models: readonly string[] = ['tiny'],
  ) {
    const connection = { host: redis.options.host, port: redis.options.port, maxRetriesPerRequest: null };
    this.queues = [...models.flatMap((m) => [modelQueues(m).shards, modelQueues(m).sync]), QUEUE_AGGREGATE, QUEUE_WEBHOOKS].map(
      (name) => new Queue(name, { connection, prefix: BULL_PREFIX }),
    );
  }

  async take(): Promise<RedisSnapshot> {
    const names: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'COUNT', 1000);
      cursor = next;
      names.push(...batch);
    } while (cursor !== '0');
    const keys: Record<string, string> = {};
    for (const k of names.filter((n) => !VOLATILE_KEY.test(n)).sort()) {
      const type = await this.redis.type(k);
      if (type === 'none') continue; // expired between SCAN and TYPE
      const size = SIZE[type] ? await SIZE[type](this.redis, k) : -1;
      const ttl = await this.redis.pttl(k);
      const dump = await this.redis.dumpBuffer(k);
      const digest = dump ? createHash('sha1').update(dump).digest('hex').slice(0, 12) : 'gone';
      keys[k] = `${type} ${size}${ttl >= 0 ? ' expires' : ''} ${digest}`;
    }
    const queues: Record<string, Record<string, number>> = {};
    for (const q of this.queues) queues[q.name] = await q.getJobCounts();
    return { keys, queues };
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}
