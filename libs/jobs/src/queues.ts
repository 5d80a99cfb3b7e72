/**
 * Queue names and what travels in each queue (the Redis key layout is in store/keys.ts).
 */
import type { ScoreOverrides } from '@rerank/engine';
import type { PairScore, ShardResult } from './merge';

export { BULL_PREFIX } from './store/keys';

export const QUEUE_SHARDS = 'shards';
export const QUEUE_AGGREGATE = 'aggregate';
export const QUEUE_WEBHOOKS = 'webhooks';

/** Shards of asynchronous jobs; synchronous requests go without priority, so they come first. */
export const SHARD_PRIORITY = 10;

/** A shard of an asynchronous job: one query against some of its documents. */
export interface ShardJobData {
  kind: 'shard';
  jobId: string;
  /** Shard number, 0..shards-1. */
  n: number;
  model: string;
  q: number;
  /** Document indices within the query's set. */
  idx: number[];
}

/** A synchronous /v1/rerank request: small, carries its texts. */
export interface SyncJobData {
  kind: 'sync';
  model: string;
  query: string;
  documents: string[];
  options: ScoreOverrides;
}

export type ScoringJobData = ShardJobData | SyncJobData;

export interface SkippedShard {
  skipped: true;
  reason: string;
}

export type ShardReturn = ShardResult | SkippedShard;
export interface SyncReturn {
  scores: PairScore[];
}

export interface AggregateJobData {
  jobId: string;
}

export type TerminalStatus = 'completed' | 'failed' | 'cancelled';
export type JobStatus = 'queued' | 'running' | TerminalStatus;
export const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export interface WebhookJobData {
  jobId: string;
  event: TerminalStatus;
}

/** BullMQ job ids may not contain ':'; ours never do. */
export const shardJobId = (jobId: string, n: number) => `${jobId}-s${n}`;
export const webhookJobId = (jobId: string, event: TerminalStatus) => `${jobId}-${event}`;
