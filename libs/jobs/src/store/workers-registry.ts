/**
 * Worker heartbeats: each worker process writes what it serves every few seconds; the API's
 * readiness and model list read them. A worker that stops beating drops out after HEARTBEAT_TTL_MS.
 */
import type { Redis } from 'ioredis';
import type { DecoderPartLengths, Family, Truncation } from '@rerank/engine';
import type { CompressionOffer } from '../model-facts';
import { keys } from './keys';

export const HEARTBEAT_INTERVAL_MS = 2000;
export const HEARTBEAT_TTL_MS = 7000;

export interface WorkerModel {
  name: string;
  family: Family;
  generated: boolean;
  layers?: number[];
  compression?: CompressionOffer[];
  maxPositions?: number;
  decoderParts?: DecoderPartLengths;
  maxLength?: number;
  truncation?: Truncation;
  chatFrame?: number;
}

export interface WorkerHeartbeat {
  id: string;
  host: string;
  pid: number;
  device: string;
  threads: number;
  state: 'loading' | 'ready' | 'stopping';
  models: WorkerModel[];
  startedAt: number;
  beatAt: number;
  shardsScored: number;
  pairsScored: number;
  /** The job whose shard is being scored, if any. */
  current: string | null;
}

export class WorkersRegistry {
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

  /** Workers seen within the TTL. */
  async live(now = Date.now()): Promise<WorkerHeartbeat[]> {
    const ids = await this.redis.zrangebyscore(keys.workers, now - HEARTBEAT_TTL_MS, '+inf');
    if (ids.length === 0) return [];
    const values = await this.redis.mget(...ids.map(keys.worker));
    return values.filter((v): v is string => v !== null).map((v) => JSON.parse(v) as WorkerHeartbeat);
  }
}
