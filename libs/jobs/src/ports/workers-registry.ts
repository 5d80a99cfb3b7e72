/**
 * The workers registry port: each worker process says what it serves every HEARTBEAT_INTERVAL_MS;
 * the API's readiness and model list, and the aggregator's readiness, read it. A worker that stops
 * beating drops out after HEARTBEAT_TTL_MS. The Redis adapter is store/redis-workers-registry.ts.
 */
import type { DecoderPartLengths, Family, Truncation } from '@rerank/engine';
import type { CompressionOffer } from '../model-facts';

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
  /** Characters (queries and documents) it scores per second of busy time, smoothed; 0 before it measured (absent from older workers). */
  charsPerSecond?: number;
  /** The job whose shard is being scored, if any. */
  current: string | null;
}

export interface WorkersRegistry {
  beat(heartbeat: WorkerHeartbeat): Promise<void>;
  remove(id: string): Promise<void>;
  /** Workers seen within HEARTBEAT_TTL_MS. */
  live(now?: number): Promise<WorkerHeartbeat[]>;
}
