/**
 * Queue names and what travels in each queue (the Redis key layout is in store/keys.ts).
 */
import type { ScoreOverrides } from '@rerank/engine';
import type { PairScore, ShardResult } from './merge';
import type { Schedule } from './schedule';

export const QUEUE_SHARDS = 'shards';
/** Synchronous request parts: a queue of their own, so a worker busy with shards still takes them at once. */
export const QUEUE_SYNC = 'sync';
export const QUEUE_AGGREGATE = 'aggregate';

/** A model's scoring queues (model placement): job shards and synchronous request parts. */
export interface ModelQueueNames {
  shards: string;
  sync: string;
}

/**
 * The queues of one model: `shards.<model>` and `sync.<model>`, so a worker consumes only the models
 * it serves. Model names come from configuration and may hold ':' and '/', which BullMQ refuses in a
 * queue name (':' separates its keys): every character outside [A-Za-z0-9._-] is percent-encoded.
 */
export function modelQueues(model: string): ModelQueueNames {
  const safe = [...model]
    .map((c) =>
      /[A-Za-z0-9._-]/.test(c) ? c : [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    )
    .join('');
  return { shards: `${QUEUE_SHARDS}.${safe}`, sync: `${QUEUE_SYNC}.${safe}` };
}
export const QUEUE_WEBHOOKS = 'webhooks';

/**
 * The virtual time of an empty shard queue: a job's shard tags count up from it by cost, and a
 * tenant back from idle may start up to NEWCOMER_CREDIT_UNITS below the queue's head, so this
 * leaves room for that credit (see shard-priority.ts). Synchronous requests have their own queue
 * (QUEUE_SYNC) and go ahead of shards on the device.
 */
export const SHARD_PRIORITY = 100;

/**
 * A shard of an asynchronous job: one query against some of its documents.
 *
 * The short field names (`n`, `q`, `idx`) are the wire format: BullMQ stores this object as the
 * job's data in Redis, written by the API and read by workers, which can run different versions
 * during a rolling deploy. Renaming a field is a protocol change (read both names for a release first).
 */
export interface ShardJobData {
  kind: 'shard';
  jobId: string;
  /** Shard number, 0..shards-1 (the field of the job's progress and runs hashes; BullMQ job id `<jobId>-s<n>`). */
  n: number;
  model: string;
  /** Query index: position of the query in the job's layout (`queries[q]`), whose document set it is scored against. */
  q: number;
  /** Document indices within the query's set (not flat indices: `flatIndex(layout, q, index)` converts). */
  idx: number[];
  /** The job's schedule (jobSchedule), the same on each of its shards. Absent from shards queued by an older API. */
  schedule?: Schedule;
}

/** A synchronous /v1/rerank request: small, carries its texts. */
export interface SyncJobData {
  kind: 'sync';
  model: string;
  query: string;
  documents: string[];
  options: ScoreOverrides;
  /** Each document cut to this many tokens before scoring (Cohere v2 max_tokens_per_doc). */
  maxTokensPerDoc?: number;
  /** A document longer than fits beside the query is scored as up to this many chunks, best chunk wins (Cohere v1 max_chunks_per_doc). */
  maxChunksPerDoc?: number;
  /** A document longer than fits beside the query keeps its end, not its start (TEI truncation_direction "Left"). */
  truncateLeft?: boolean;
  /** The request's schedule (requestSchedule). Absent from parts queued by an older API. */
  schedule?: Schedule;
  /** The request's cancel token: a CancelSignals `sync` cancel with it stops the part's scoring (client gone, timeout). */
  cancel?: string;
}

export type ScoringJobData = ShardJobData | SyncJobData;

export interface SkippedShard {
  skipped: true;
  reason: string;
}

export type ShardReturn = ShardResult | SkippedShard;
export interface SyncReturn {
  /** One per document (the best chunk's when chunked). */
  scores: PairScore[];
  /** Tokens the model read (every pair's input, special tokens included), for usage.total_tokens. */
  tokens?: number;
  /** Pairs scored (chunks count separately), for billed search units. */
  pairs?: number;
  /** The request was cancelled (client gone, timeout) while its part was scored: no scores. */
  cancelled?: true;
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

/** The job and shard number of a shard's BullMQ job id (shardJobId), or null for another id. */
export function parseShardJobId(id: string): { jobId: string; n: number } | null {
  const cut = id.lastIndexOf('-s');
  const n = Number(id.slice(cut + 2));
  return cut < 1 || cut + 2 === id.length || !Number.isInteger(n) || n < 0 ? null : { jobId: id.slice(0, cut), n };
}
export const webhookJobId = (jobId: string, event: TerminalStatus) => `${jobId}-${event}`;
