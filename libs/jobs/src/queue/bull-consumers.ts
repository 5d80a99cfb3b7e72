/**
 * The consumer side of the queues on BullMQ: a BullMQ Worker per queue that turns its jobs into the
 * services' tasks (scoring data, AggregationTask, WebhookTask). The services never see BullMQ.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { RerankConfig } from '../config';
import {
  type AggregateJobData,
  modelQueues,
  parseShardJobId,
  QUEUE_AGGREGATE,
  QUEUE_SHARDS,
  QUEUE_WEBHOOKS,
  type ScoringJobData,
  type ShardJobData,
  type ShardReturn,
  type SyncReturn,
  type WebhookJobData,
} from '../queues';
import { createRedis } from '../redis';
import { workerQueueOptions } from './bull-flow';
import {
  type AggregationTask,
  PermanentTaskError,
  type QueueConsumer,
  SHARD_FAILURE_CODES,
  type ShardFailure,
  type ShardFailureCode,
  type WebhookTask,
} from '../ports/scoring-queue';
import { tenantSlots } from './tenant-slot';

/** A scoring task's failure as BullMQ stores it (the job's failedReason): `<code>: <message>`. */
export function encodeFailure(code: ShardFailureCode, message: string): string {
  return `${code}: ${message}`;
}

/** A failedReason back as code and message; one the queue wrote itself (stalled too often) is 'queue'. */
export function decodeFailure(reason: string): Pick<ShardFailure, 'code' | 'message'> {
  const cut = reason.indexOf(': ');
  const code = reason.slice(0, cut) as ShardFailureCode;
  return cut > 0 && SHARD_FAILURE_CODES.includes(code) ? { code, message: reason.slice(cut + 2) } : { code: 'queue', message: reason };
}

/** A scoring handler's error with its code in the message; a PermanentTaskError fails the task now. */
function scoringFailure(e: unknown): Error {
  if (e instanceof PermanentTaskError) return new UnrecoverableError(encodeFailure(e.code, e.message));
  return new Error(encodeFailure('scoring_failed', e instanceof Error ? e.message : String(e)), { cause: e });
}

export interface ConsumerOptions {
  concurrency: number;
  /** Connection name (CLIENT LIST). */
  name: string;
  onError?: (e: Error) => void;
  /** A task failed (attempt `attemptsMade` of `maxAttempts`). */
  onFailed?: (what: string, attemptsMade: number, maxAttempts: number, e: Error) => void;
}

interface RawOptions<D> {
  concurrency: number;
  name: string;
  onError?: (e: Error) => void;
  onFailed?: (job: Job<D>, e: Error) => void;
}

/** A BullMQ Worker running `handler` on each job of `queue`. */
function bullWorker<D, R>(
  config: Pick<RerankConfig, 'redis' | 'queue'>,
  queue: string,
  handler: (job: Job<D>) => Promise<R>,
  options: RawOptions<D>,
  autorun = true,
): Worker<D, R> {
  const worker = new Worker<D, R>(queue, handler, {
    connection: createRedis(config.redis.url, { blocking: true, name: options.name }),
    concurrency: options.concurrency,
    autorun,
    ...workerQueueOptions(config),
  });
  if (options.onError) worker.on('error', options.onError);
  else worker.on('error', () => undefined);
  const onFailed = options.onFailed;
  if (onFailed) worker.on('failed', (job, e) => job && onFailed(job, e));
  return worker;
}

function consume<D, R>(
  config: Pick<RerankConfig, 'redis' | 'queue'>,
  queue: string,
  handler: (job: Job<D>) => Promise<R>,
  options: RawOptions<D>,
): QueueConsumer {
  const worker = bullWorker(config, queue, handler, options);
  return {
    name: queue,
    isRunning: () => worker.isRunning(),
    waitUntilReady: async () => void (await worker.waitUntilReady()),
    close: () => worker.close(),
  };
}

/**
 * Scoring: job shards (`config.worker.concurrency` at once) and synchronous request parts
 * (`config.worker.syncConcurrency` at once, from their own queue) of the models this worker serves
 * (`models`, RERANK_WORKER_MODELS): two BullMQ Workers per model, on the model's queues
 * (modelQueues), so shards never hold the slots a request needs and a worker never takes a model it
 * has not loaded. Either queue's tasks go to the same handler. A worker takes a shard only when one of
 * its shard slots is free: no private backlog beyond what it scores. The concurrencies are per model.
 * With `admitToTenantSlot` and RERANK_WORKER_TENANT_SLOTS, each model's shard queue also has as many
 * tenant slots (tenant-slot.ts): more shards while the fixed slots are busy, for the tenants admitted.
 */
export function consumeShards(
  config: Pick<RerankConfig, 'redis' | 'queue' | 'worker'>,
  models: readonly string[],
  handler: (data: ScoringJobData) => Promise<ShardReturn | SyncReturn>,
  options: Omit<ConsumerOptions, 'concurrency'> & {
    /** Whether the shard at the head of the queue may take a tenant slot. */
    admitToTenantSlot?: (shard: ShardJobData) => boolean;
  },
): QueueConsumer {
  const { admitToTenantSlot, ...rest } = options;
  const opts = { ...rest, onFailed: described<ScoringJobData>(options.onFailed) };
  const consumers = models.flatMap((model) => {
    const names = modelQueues(model);
    const score = async (job: Job<ScoringJobData>) => {
      try {
        return await handler(job.data);
      } catch (e) {
        throw scoringFailure(e);
      }
    };
    // Shards in the fixed slots: the tenant slots work only while all of them are busy.
    let busy = 0;
    const fixedSlot = async (job: Job<ScoringJobData>) => {
      busy++;
      try {
        return await score(job);
      } finally {
        busy--;
      }
    };
    const own = [
      consume<ScoringJobData, ShardReturn | SyncReturn>(config, names.shards, fixedSlot, {
        ...opts,
        concurrency: config.worker.concurrency,
      }),
      consume<ScoringJobData, ShardReturn | SyncReturn>(config, names.sync, score, {
        ...opts,
        name: `${options.name}-sync`,
        concurrency: config.worker.syncConcurrency,
      }),
    ];
    if (config.worker.tenantSlots && admitToTenantSlot) {
      const worker = bullWorker<ShardJobData, ShardReturn | SyncReturn>(
        config,
        names.shards,
        score,
        { ...opts, name: `${options.name}-slots`, concurrency: config.worker.concurrency },
        false,
      );
      own.push(
        tenantSlots(worker, config.worker.concurrency, {
          full: () => busy >= config.worker.concurrency,
          admit: admitToTenantSlot,
          lockDurationMs: config.queue.lockDurationMs,
          onError: options.onError ?? (() => undefined),
        }),
      );
    }
    return own;
  });
  return {
    name: QUEUE_SHARDS,
    isRunning: () => consumers.every((c) => c.isRunning()),
    waitUntilReady: async () => void (await Promise.all(consumers.map((c) => c.waitUntilReady()))),
    close: async () => void (await Promise.all(consumers.map((c) => c.close()))),
  };
}

function described<D>(onFailed: ConsumerOptions['onFailed']): RawOptions<D>['onFailed'] {
  return onFailed && ((job, e) => onFailed(`${job.name} ${job.id}`, job.attemptsMade, job.opts.attempts ?? 1, e));
}

function aggregationTask(job: Job<AggregateJobData>): AggregationTask {
  return {
    jobId: job.data.jobId,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    failedShards: async () =>
      Object.entries(await job.getFailedChildrenValues()).map(([key, reason]) => ({
        // The child's key ends in its BullMQ id, `<job>-s<n>` (shardJobId).
        shard: String(parseShardJobId(key.slice(key.lastIndexOf(':') + 1))?.n ?? '?'),
        ...decodeFailure(String(reason)),
      })),
    shardResults: async () => Object.values(await job.getChildrenValues<ShardReturn>()),
    removePendingShards: () => job.removeUnprocessedChildren(),
  };
}

/**
 * Aggregation parents. `onFailedForGood` runs when an aggregation used its last attempt (the job
 * must not stay running).
 */
export function consumeAggregations(
  config: Pick<RerankConfig, 'redis' | 'queue'>,
  handler: (task: AggregationTask) => Promise<unknown>,
  onFailedForGood: (task: AggregationTask, e: Error) => Promise<void>,
  options: Omit<ConsumerOptions, 'concurrency' | 'onFailed'>,
): QueueConsumer {
  return consume<AggregateJobData, unknown>(config, QUEUE_AGGREGATE, (job) => handler(aggregationTask(job)), {
    ...options,
    concurrency: 2,
    onFailed: (job, e) => {
      if (job.attemptsMade >= (job.opts.attempts ?? 1)) void onFailedForGood(aggregationTask(job), e).catch(() => undefined);
    },
  });
}

export function consumeWebhooks(
  config: Pick<RerankConfig, 'redis' | 'queue'>,
  handler: (task: WebhookTask) => Promise<unknown>,
  options: Omit<ConsumerOptions, 'concurrency'>,
): QueueConsumer {
  return consume<WebhookJobData, unknown>(
    config,
    QUEUE_WEBHOOKS,
    (job) =>
      handler({
        jobId: job.data.jobId,
        event: job.data.event,
        maxAttempts: job.opts.attempts ?? 1,
        deliveryId: String(job.id),
      }),
    { ...options, onFailed: described(options.onFailed), concurrency: 8 },
  );
}
