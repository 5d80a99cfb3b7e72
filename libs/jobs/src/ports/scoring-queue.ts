/**
 * The queue ports: what the services need of a queue, whatever carries it. The BullMQ adapters
 * are ../queue/bull-scoring-queue.ts (producer side: API, aggregator) and ../queue/bull-consumers.ts
 * (worker and aggregator side); the unit tier's fakes (test/unit/fakes.ts) implement the same interfaces.
 */
import type { ShardReturn, SyncJobData, SyncReturn, TerminalStatus } from '../queues';
import type { Schedule } from '../schedule';
import type { ShardPlan } from '../sharding';

/** How a synchronous shard ended, or that it did not in time. */
export type SyncOutcome =
  | { state: 'completed'; value: SyncReturn }
  | { state: 'failed'; error: string }
  /** `active`: a worker has it (it is removed once it ends), else nobody took it yet. */
  | { state: 'timeout'; active: boolean };

/** Queues webhook deliveries of a job's terminal event (a second call for the same event is a no-op). */
export interface WebhookQueue {
  queueWebhook(jobId: string, event: TerminalStatus): Promise<void>;
}

/** The producer side of the scoring queues (the API). */
export interface ScoringQueue extends WebhookQueue {
  /**
   * A job as one unit: its shards (each carrying `schedule`) and the aggregation that runs once they
   * are done; all queued or none. Waiting shards are ordered by their schedules (ARCHITECTURE.md,
   * "The fairness model").
   */
  addJob(jobId: string, model: string, shards: readonly ShardPlan[], schedule: Schedule): Promise<void>;
  /** Whether `addJob` went through for this job and its aggregation has not ended (a retry completing a crashed creation asks). */
  hasJob(jobId: string): Promise<boolean>;
  /** A part of a synchronous request as one shard of its own queue, ahead of job shards; returns its id. */
  addSyncShard(data: SyncJobData): Promise<string>;
  /** Waits up to `timeoutMs` for a synchronous shard. */
  waitForSync(id: string, timeoutMs: number): Promise<SyncOutcome>;
  /** Removes a synchronous shard and its texts (done, failed, or never started); throws while a worker holds it. */
  removeSync(id: string): Promise<void>;
  /** Removes the shards of a job that no worker has taken yet (cancel). */
  cancelPendingShards(jobId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Why a shard (or a synchronous part) failed for good:
 * - 'redis_unavailable': the worker ran out of infrastructure retries (RERANK_INFRA_RETRY_MS); failed at once;
 * - 'bad_options': the engine refused the job's options; failed at once (every attempt would);
 * - 'model_failed': the model's graph failed inside the runtime on a batch; failed at once (the same
 *   batch fails the same way on every attempt);
 * - 'scoring_failed': scoring threw, on every attempt (RERANK_SHARD_ATTEMPTS);
 * - 'queue': the queue failed it itself (e.g. stalled more often than allowed).
 */
export type ShardFailureCode = 'redis_unavailable' | 'bad_options' | 'model_failed' | 'scoring_failed' | 'queue';
export const SHARD_FAILURE_CODES: readonly ShardFailureCode[] = [
  'redis_unavailable',
  'bad_options',
  'model_failed',
  'scoring_failed',
  'queue',
];

export interface ShardFailure {
  /** Shard number ('?' when the queue's record does not say). */
  shard: string;
  code: ShardFailureCode;
  message: string;
}

/** Thrown by a scoring handler: fail the task now, without its remaining attempts, with this code. */
export class PermanentTaskError extends Error {
  override readonly name = 'PermanentTaskError';
  constructor(
    readonly code: Exclude<ShardFailureCode, 'scoring_failed' | 'queue'>,
    message: string,
  ) {
    super(message);
  }
}

/** A job's aggregation, run once all its shards ended. */
export interface AggregationTask {
  jobId: string;
  attemptsMade: number;
  maxAttempts: number;
  /** Shards that failed for good. */
  failedShards(): Promise<ShardFailure[]>;
  /** What each completed shard returned. */
  shardResults(): Promise<ShardReturn[]>;
  /** Removes the shards no worker has taken yet. */
  removePendingShards(): Promise<void>;
}

/** One attempt to deliver a job's webhook (its number is counted by the job store when it starts). */
export interface WebhookTask {
  jobId: string;
  event: TerminalStatus;
  maxAttempts: number;
  /** The same across retries of one delivery (X-Rerank-Delivery). */
  deliveryId: string;
}

/** A running consumer of one queue. */
export interface QueueConsumer {
  readonly name: string;
  isRunning(): boolean;
  waitUntilReady(): Promise<void>;
  close(): Promise<void>;
}
