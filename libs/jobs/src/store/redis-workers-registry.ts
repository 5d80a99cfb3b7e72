/** The workers registry on Redis: a sorted set of worker ids by last beat, and each heartbeat as JSON with a TTL. */
import type { Redis } from 'ioredis';
import { HEARTBEAT_TTL_MS, type WorkerHeartbeat, type WorkersRegistry } from '../ports/workers-registry';
import { keys } from './keys';

export class RedisWorkersRegistry implements WorkersRegistry {
  constructor(private readonly redis: Redis) {}

  async beat(hb: WorkerHeartbeat): Promise<void> {
    const p = this.redis.multi();
    p.set(keys.worker(hb.id), JSON.stringify(hb), 'PX', HEARTBEAT_TTL_MS);
    p.zadd(keys.workers, hb.beatAt, hb.id);
    p.zremrangebyscore(keys.workers, '-inf', hb.beatAt - 10 * HEARTBEAT_TTL_MS);
    await p.exec();
  }

  async remove(id: string): Promise<void> {
    const p = this.redis.multi();
    p.del(keys.worker(id));
    p.zrem(keys.workers, id);
    await p.exec();
  }

  async live(now = Date.now()): Promise<WorkerHeartbeat[]> {
    const ids = await this.redis.zrangebyscore(keys.workers, now - HEARTBEAT_TTL_MS, '+inf');
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map(keys.worker));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerHeartbeat);
  }
}
